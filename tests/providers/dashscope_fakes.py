"""A scripted DashScope fake for `httpx.MockTransport`: answers from a script, records every request."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

API_KEY = "sk-test-0123456789abcdef"
BASE = "https://dashscope-intl.aliyuncs.com"

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class Recorded:
    method: str
    path: str
    raw_path: bytes
    query: dict[str, list[str]]
    headers: httpx.Headers
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScriptedServer:
    """Answers requests from a script; the last step repeats once the script runs out."""

    steps: list[Step] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def script(self, *steps: Step) -> ScriptedServer:
        self.steps.extend(steps)
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        query: dict[str, list[str]] = {}
        for k, v in request.url.params.multi_items():
            query.setdefault(k, []).append(v)
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                request.url.raw_path,
                query,
                request.headers,
                request.content,
            )
        )
        if not self.steps:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            return step(request)
        return step

    @property
    def count(self) -> int:
        return len(self.requests)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def err(
    status: int,
    code: str | None = None,
    message: str = "boom",
    headers: dict[str, str] | None = None,
    request_id: str = "req-1",
) -> httpx.Response:
    body: dict[str, Any] = {"request_id": request_id, "message": message}
    if code:
        body["code"] = code
    return httpx.Response(status, json=body, headers=headers)
