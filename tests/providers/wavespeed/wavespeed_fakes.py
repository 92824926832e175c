"""A scripted WaveSpeed server for client tests: answers queued per route, every request recorded."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

API_KEY = "ws-test-key-0123456789abcdef"
BASE = "https://api.wavespeed.example"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def envelope(
    data: Any, status: int = 200, code: int = 200, message: str = "success", **headers: str
) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": data}, headers=headers)


def failure(
    status: int, message: str, *, code: int | None = None, key: str = "message", **headers: str
) -> httpx.Response:
    return httpx.Response(
        status,
        json={"code": code if code is not None else status, key: message, "data": None},
        headers=headers,
    )


def prediction(pid: str = "p1", status: str = "created", **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "model": "wavespeed-ai/wan-2.2-image-lora-trainer",
        "outputs": [],
        "urls": {"get": f"{BASE}/api/v3/predictions/{pid}/result"},
        "has_nsfw_contents": [],
        "status": status,
        "created_at": "2026-01-01T00:00:00.000Z",
        "error": "",
        "timings": {"inference": 0},
        **extra,
    }


@dataclass
class Sent:
    method: str
    url: httpx.URL
    headers: httpx.Headers
    body: bytes

    @property
    def path(self) -> str:
        return self.url.path

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScriptedServer:
    answers: dict[tuple[str, str], list[Answer]] = field(default_factory=lambda: defaultdict(list))
    sent: list[Sent] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.answers[(method, path)].extend(answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.sent.append(Sent(request.method, request.url, request.headers, body))
        queue = self.answers.get((request.method, request.url.path))
        if not queue:
            return failure(404, f"no scripted answer for {request.method} {request.url.path}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def count(self, method: str, path: str) -> int:
        return sum(1 for s in self.sent if s.method == method and s.path == path)
