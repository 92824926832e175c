"""Fixtures: a scripted WaveSpeed fake, a client wired to it, and an in-process sandbox with the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from wavespeed_fakes import API_KEY, BASE, ScriptedServer

from reconciler.clock import FakeClock
from reconciler.providers.http import RetryPolicy
from reconciler.providers.wavespeed import WaveSpeedAdapter, WaveSpeedClient
from reconciler.sandbox import Sandbox


@pytest.fixture
def server() -> ScriptedServer:
    return ScriptedServer()


@pytest.fixture
def client(server: ScriptedServer, clock: FakeClock, policy: RetryPolicy) -> Iterator[WaveSpeedClient]:
    c = WaveSpeedClient(
        BASE, API_KEY, transport=httpx.MockTransport(server.handler), retry=policy, clock=clock
    )
    yield c
    c.close()


@pytest.fixture
def clean_sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox reads faults, time scale and fidelity from the environment; these tests set their own."""
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("RECONCILER_SANDBOX_TIME_SCALE", raising=False)
    monkeypatch.delenv("RECONCILER_SANDBOX_FIDELITY", raising=False)


@pytest.fixture
def sandbox(clean_sandbox_env: None, clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=600.0)
    yield sb
    sb.close()


@pytest.fixture
def sandbox_client(sandbox: Sandbox, clock: FakeClock, policy: RetryPolicy) -> Iterator[WaveSpeedClient]:
    c = WaveSpeedClient(
        "http://127.0.0.1", "sandbox-key", transport=sandbox.transport(), retry=policy, clock=clock
    )
    yield c
    c.close()


@pytest.fixture
def adapter(sandbox_client: WaveSpeedClient, clock: FakeClock) -> WaveSpeedAdapter:
    return WaveSpeedAdapter("ws", sandbox_client, clock=clock, parallelism=4)
