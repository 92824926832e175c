"""Fixtures: a scripted WaveSpeed fake, a client wired to it, and an in-process sandbox with the emulator."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from wavespeed_fakes import API_KEY, BASE, ScriptedServer

import reconciler.sandbox.sandbox as sandbox_module
from reconciler.clock import FakeClock
from reconciler.providers.http import RetryPolicy
from reconciler.providers.wavespeed import WaveSpeedAdapter, WaveSpeedClient
from reconciler.sandbox import Sandbox
from reconciler.sandbox.wavespeed import WaveSpeedEmulator


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
def client(server: ScriptedServer, clock: FakeClock, policy: RetryPolicy) -> Iterator[WaveSpeedClient]:
    c = WaveSpeedClient(BASE, API_KEY, transport=httpx.MockTransport(server.handler), retry=policy, clock=clock)
    yield c
    c.close()


@pytest.fixture
def with_wavespeed_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the lead registers it in `_emulators()`: add the WaveSpeed emulator for these tests."""
    original = sandbox_module._emulators

    def emulators() -> list:
        found = original()
        return found if any(e.name == "wavespeed" for e in found) else [*found, WaveSpeedEmulator()]

    monkeypatch.setattr(sandbox_module, "_emulators", emulators)
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("RECONCILER_SANDBOX_TIME_SCALE", raising=False)


@pytest.fixture
def sandbox(with_wavespeed_emulator: None, clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=600.0)
    yield sb
    sb.close()


@pytest.fixture
def sandbox_client(sandbox: Sandbox, clock: FakeClock, policy: RetryPolicy) -> Iterator[WaveSpeedClient]:
    c = WaveSpeedClient("http://127.0.0.1", "sandbox-key", transport=sandbox.transport(), retry=policy, clock=clock)
    yield c
    c.close()


@pytest.fixture
def adapter(sandbox_client: WaveSpeedClient, clock: FakeClock) -> WaveSpeedAdapter:
    return WaveSpeedAdapter("ws", sandbox_client, clock=clock, parallelism=4)
