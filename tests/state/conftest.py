"""Fixtures for the state-store tests: a fake clock, a state path in a temp dir, a record factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.state.sqlite import SqliteStateStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "manifests" / ".reconciler" / "state.db"


@pytest.fixture
def store(state_path: Path, clock: FakeClock) -> Iterator[SqliteStateStore]:
    opened = SqliteStateStore.open(state_path, clock=clock)
    yield opened
    opened.close()
