"""What the sandbox reads once per request instead of once per use: `data_version` in a write
transaction, and whether a late commit is due (cached until another connection commits, this
store parks or takes one, or a rollback)."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from sandbox_testkit import AUTH

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.sandbox import Sandbox
from reconciler.sandbox.late_commits import LateCommits
from reconciler.sandbox.routing import Request
from reconciler.sandbox.store import Store


def _traced(store: Store) -> list[str]:
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    return seen


def _request() -> Request:
    return Request.build("GET", "/api/v1/deployments", "", {}, io.BytesIO(b""), 0)


def test_data_version_is_read_once_per_write_transaction(tmp_path: Path) -> None:
    store, other = Store(tmp_path / "s.db"), Store(tmp_path / "s.db")
    try:
        statements = _traced(store)
        with store.transaction():
            first = store.data_version()
            assert store.data_version() == first
        assert sum("data_version" in s for s in statements) == 1
        other.execute("INSERT INTO sandbox_meta(key, value) VALUES ('k', 'v')")  # another connection commits
        with store.transaction():
            assert store.data_version() != first  # a new transaction reads it again
        outside = store.data_version()
        assert store.data_version() == outside
        assert sum("data_version" in s for s in statements) == 4  # outside a transaction: every time
    finally:
        store.close()
        other.close()


def test_a_request_reads_the_late_commits_once_while_nothing_changes(
    tmp_path: Path, clock: FakeClock
) -> None:
    sb = Sandbox(db_path=tmp_path / "sb.db", clock=clock)
    try:
        c = httpx.Client(transport=sb.transport(), base_url="http://sandbox", headers=AUTH)
        statements = _traced(sb.store)
        for _ in range(5):
            assert c.get("/api/v1/deployments").status_code == 200
        assert sum("sandbox_late_commits" in s for s in statements) == 1
        assert sum("data_version" in s for s in statements) == 5  # one per request, shared
    finally:
        sb.close()


def test_a_commit_parked_by_another_connection_is_seen(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "sb.db"
    first, second = Sandbox(db_path=db, clock=clock, seed=3), Sandbox(db_path=db, clock=clock, seed=3)
    try:
        plain = httpx.Client(transport=first.transport(), base_url="http://sandbox", headers=AUTH)
        assert plain.get("/api/v1/deployments").json()["output"]["total"] == 0  # caches "none parked"
        late = FaultConfig(
            seed=1,
            rules=[
                FaultRule(match="POST /api/v1/deployments", rate_late_commit=1.0, late_commit_delay_s=5.0)
            ],
        )
        with pytest.raises(httpx.ReadTimeout):
            httpx.Client(transport=second.transport(late), base_url="http://sandbox", headers=AUTH).post(
                "/api/v1/deployments", json={"model_name": "m", "plan": "lora", "capacity": 1}
            )
        clock.advance(5.0)
        assert first.wsgi_app.late_commits.any_due(clock.now())
        plain.get("/api/v1/deployments")
        assert first.wsgi_app.late_commits.pending() == 0  # run by the first sandbox, before it answered
        assert not first.wsgi_app.late_commits.any_due(clock.now())
    finally:
        first.close()
        second.close()


def test_a_park_through_the_same_store_is_seen_by_every_late_commits(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        a, b = LateCommits(store), LateCommits(store)
        assert not a.any_due(100.0)
        b.park(_request(), due=50.0, fidelity="permissive", request_id="r")
        assert a.any_due(100.0) and not a.any_due(49.0)
        with store.transaction():
            assert b.take_due(100.0) is not None
        assert not a.any_due(100.0)
    finally:
        store.close()


def test_a_rolled_back_take_is_seen_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        late = LateCommits(store)
        late.park(_request(), due=1.0, fidelity="permissive", request_id="r")
        with pytest.raises(RuntimeError), store.transaction():
            assert late.take_due(2.0) is not None
            assert not late.any_due(2.0)  # cached inside the transaction, before it is undone
            raise RuntimeError("undo")
        assert late.pending() == 1
        assert late.any_due(2.0)
    finally:
        store.close()
