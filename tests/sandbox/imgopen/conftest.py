from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=600.0)
    yield sb
    sb.close()
