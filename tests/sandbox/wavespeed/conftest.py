"""Fixtures: a sandbox with the WaveSpeed emulator and a raw httpx client speaking to it in process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=600.0)
    yield sb
    sb.close()


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=sandbox.transport(), base_url="http://127.0.0.1", headers={"Authorization": "Bearer ws-key"}
    ) as client:
        yield client
