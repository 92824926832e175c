from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_testkit import Kit

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _no_sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("RECONCILER_SANDBOX_TIME_SCALE", raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=600.0)  # the timings these tests were written for
    yield sb
    sb.close()


@pytest.fixture
def kit(sandbox: Sandbox, clock: FakeClock) -> Kit:
    return Kit(sandbox, clock)
