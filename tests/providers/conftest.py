"""Fixtures: a scripted DashScope fake and a client wired to it with a FakeClock and seeded jitter."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from dashscope_fakes import API_KEY, BASE, ScriptedServer

from reconciler.clock import FakeClock
from reconciler.providers.dashscope import DashScopeClient
from reconciler.providers.http import RetryPolicy


@pytest.fixture
def server() -> ScriptedServer:
    return ScriptedServer()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(rng=random.Random(7))


@pytest.fixture
def client(server: ScriptedServer, clock: FakeClock, policy: RetryPolicy) -> Iterator[DashScopeClient]:
    c = DashScopeClient(
        BASE, API_KEY, transport=httpx.MockTransport(server.handler), retry=policy, clock=clock
    )
    yield c
    c.close()
