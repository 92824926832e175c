"""Test helpers for the ImgOpen client and adapter: a scripted fake, and an in-process sandbox."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig
from reconciler.providers.http import RetryPolicy
from reconciler.providers.imgopen import ImgOpenClient
from reconciler.sandbox import Sandbox

ACCESS_KEY_ID = "AKID-imgopen-0123456789"
ACCESS_KEY_SECRET = "SECRET-imgopen-abcdef9876543210"
BASE = "https://api.zhiqite.com"
URLS = [f"https://images.example.com/cat-{i:02d}.jpg" for i in range(12)]

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class Recorded:
    method: str
    path: str
    headers: httpx.Headers
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScriptedImgOpen:
    """Answers from a script (the last step repeats) and records every request."""

    steps: list[Step] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def script(self, *steps: Step) -> ScriptedImgOpen:
        self.steps.extend(steps)
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(Recorded(request.method, request.url.path, request.headers, request.content))
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


def envelope(
    code: Any = "200",
    msg: str = "success",
    data: Any = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return httpx.Response(status, json=body, headers=headers)


def scripted_client(server: ScriptedImgOpen, clock: FakeClock, max_attempts: int = 5) -> ImgOpenClient:
    return ImgOpenClient(
        BASE,
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        transport=httpx.MockTransport(server.handler),
        retry=RetryPolicy(max_attempts=max_attempts, rng=random.Random(7)),
        clock=clock,
    )


def imgopen_sandbox(clock: FakeClock, faults: FaultConfig | None = None) -> Sandbox:
    return Sandbox(clock=clock, seed=5, time_scale=600.0, faults=faults or FaultConfig())


def sandbox_client(sandbox: Sandbox, clock: FakeClock, faults: FaultConfig | None = None) -> ImgOpenClient:
    return ImgOpenClient(
        "http://127.0.0.1",
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        transport=sandbox.transport(faults),
        retry=RetryPolicy(rng=random.Random(3)),
        clock=clock,
    )
