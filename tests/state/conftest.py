"""Fixtures for the state-store tests: a fake clock, a state path in a temp dir, both stores.

`backend` is parametrized over the two stores (state_backends.py): a test that takes it (or
`any_store`) is part of the conformance suite and runs against SQLite and PostgreSQL alike.
`store` and `state_path` are the SQLite store, for the tests of what only SQLite has.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from state_backends import Backend, PostgresBackend, SqliteBackend

from reconciler.clock import FakeClock
from reconciler.state.interface import StateStore
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


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, state_path: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(state_path)
    return PostgresBackend(request.getfixturevalue("pg_database"), request.getfixturevalue("pg_workspace"))


@pytest.fixture
def any_store(backend: Backend, clock: FakeClock) -> Iterator[StateStore]:
    opened = backend.open(clock=clock)
    yield opened
    opened.close()
