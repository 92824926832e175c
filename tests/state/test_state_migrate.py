"""`state migrate`: SQLite → PostgreSQL → SQLite copies a state exactly, verifies it, leaves the source alone."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from state_backends import PostgresBackend
from state_fixtures import FULL_RECORD, make_record

from reconciler.clock import FakeClock
from reconciler.models.state import StateSnapshot
from reconciler.state.interface import StateError
from reconciler.state.moving import export_snapshot
from reconciler.state.postgres import PostgresStateStore
from reconciler.state.sqlite import SqliteStateStore
from reconciler.workspace import Workspace, WorkspaceError


def _fill(path: Path, clock: FakeClock) -> StateSnapshot:
    """A state with everything a state can hold: records (deposed, lineage), closed and open journal rows,
    events of resources and of the state, and gaps in the ids."""
    with SqliteStateStore.open(path, clock=clock) as store:
        store.put(FULL_RECORD, event="create", detail={"remote_id": "file-ft-1"})
        clock.advance(1.5)
        done = store.journal_open(
            "FineTune/money-rain", "create", "dashscope", {"model": "m"}, {"model": "m"}
        )
        store.put(
            make_record(built_from={"Dataset/money-rain-train": "file-ft-1"}),
            event="created",
            close_journal=(done, "done", {"job_id": "ft-money-rain"}),
        )
        clock.advance(2)
        store.put(
            replace(make_record("old"), deposed=[make_record("old", remote_id="ft-0").to_dict()]),
            event="replaced",
        )
        store.remove("FineTune/old", event="deleted")
        store.journal_open(
            "Deployment/money-rain", "create", "dashscope", {"name": "d"}, {"name": "d"}
        )  # open
        store.append_event("state-resolve", None, {"journal": [done]})
        return export_snapshot(store)


def _sha(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.parent.iterdir())}


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    root = tmp_path / "manifests"
    root.mkdir()
    return root


def test_sqlite_to_postgresql_and_back_round_trips_exactly(
    manifests: Path, pg_database: str, pg_workspace: str, clock: FakeClock
) -> None:
    source = manifests / ".reconciler" / "state.db"
    original = _fill(source, clock)
    assert len(original.journal) == 2 and len(original.events) == 5 and original.serial == 4
    files_before = _sha(source)

    done = Workspace([manifests]).migrate_state(pg_database, to_workspace=pg_workspace)
    assert (done.lineage, done.serial) == (original.lineage, original.serial)
    assert done.counts == "2 resource(s), 2 journal entries, 5 event(s)"
    after = _sha(source)
    assert after.pop("state.db.lock") == hashlib.sha256(b"").hexdigest()  # the lock it held, released
    assert after == files_before  # the state file is left byte for byte as it was
    with PostgresStateStore.open(pg_database, workspace=pg_workspace, readonly=True) as copy:
        assert export_snapshot(copy) == original
        assert [e.address for e in copy.open_journal()] == ["Deployment/money-rain"]  # a run resumes from it

    pg = PostgresBackend(pg_database, pg_workspace)
    pg_before = pg.persisted()
    back = manifests / "back" / "state.db"
    Workspace([manifests], state_path=pg_database, workspace=pg_workspace).migrate_state(str(back))
    assert pg.persisted() == pg_before  # the PostgreSQL source is untouched too
    with SqliteStateStore.open(back, readonly=True) as returned:
        assert export_snapshot(returned) == original
    with SqliteStateStore.open(back) as returned:  # and it goes on as the same state
        assert returned.put(make_record("next"), event="create") == original.serial + 1
        assert returned.journal_open("FineTune/next", "create", "p", {}, {}) > max(
            e.id for e in original.journal
        )


def test_a_postgresql_workspace_copies_into_another_database_keeping_its_name(
    manifests: Path, pg_database: str, pg_workspace: str, postgres, clock: FakeClock
) -> None:
    with PostgresStateStore.open(pg_database, workspace=pg_workspace, clock=clock) as store:
        store.put(FULL_RECORD, event="create")
        original = export_snapshot(store)
    other = postgres.create_database("other")
    try:
        done = Workspace([manifests], state_path=pg_database, workspace=pg_workspace).migrate_state(
            postgres.url(other)
        )
        assert done.destination.workspace == pg_workspace
        with PostgresStateStore.open(postgres.url(other), workspace=pg_workspace, readonly=True) as copy:
            assert export_snapshot(copy) == original
    finally:
        postgres.drop_database(other)


def test_a_destination_that_holds_a_state_is_refused_and_left_alone(
    manifests: Path, pg_database: str, pg_workspace: str, clock: FakeClock
) -> None:
    _fill(manifests / ".reconciler" / "state.db", clock)
    with PostgresStateStore.open(pg_database, workspace=pg_workspace) as taken:
        taken.put(make_record("theirs"), event="create")
        theirs = export_snapshot(taken)
    with pytest.raises(StateError, match="already holds a state .*serial 1.*another --to-workspace"):
        Workspace([manifests]).migrate_state(pg_database, to_workspace=pg_workspace)
    with PostgresStateStore.open(pg_database, workspace=pg_workspace) as taken:
        assert export_snapshot(taken) == theirs
    existing = manifests / "existing.db"
    with SqliteStateStore.open(existing) as store:
        store.append_event("something")
    with pytest.raises(StateError, match="already holds a state"):
        Workspace([manifests], state_path=pg_database, workspace=pg_workspace).migrate_state(str(existing))


def test_nothing_to_migrate_and_migrating_onto_itself_are_refused(manifests: Path, clock: FakeClock) -> None:
    with pytest.raises(WorkspaceError, match="there is no state at .* to migrate"):
        Workspace([manifests]).migrate_state(str(manifests / "copy.db"))
    assert not (manifests / "copy.db").exists()
    _fill(manifests / ".reconciler" / "state.db", clock)
    with pytest.raises(WorkspaceError, match="is the state being migrated"):
        Workspace([manifests]).migrate_state(str(manifests / ".reconciler" / "state.db"))


def test_a_copy_that_does_not_match_is_reported(
    manifests: Path, pg_database: str, pg_workspace: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(manifests / ".reconciler" / "state.db", clock)
    real = PostgresStateStore.import_snapshot

    def lossy(self: PostgresStateStore, snapshot: StateSnapshot) -> None:
        real(self, replace(snapshot, events=snapshot.events[:-1]))  # drops the last event

    monkeypatch.setattr(PostgresStateStore, "import_snapshot", lossy)
    with pytest.raises(
        StateError, match="does not match the source \\(4 events rows instead of 5\\).*source .* is unchanged"
    ):
        Workspace([manifests]).migrate_state(pg_database, to_workspace=pg_workspace)


def test_both_states_are_locked_while_copying(
    manifests: Path, pg_database: str, pg_workspace: str, clock: FakeClock
) -> None:
    _fill(manifests / ".reconciler" / "state.db", clock)
    locked = pytest.raises(StateError, match="state is locked by .*running 'apply'")
    with SqliteStateStore.open(manifests / ".reconciler" / "state.db") as busy, busy.lock("apply"), locked:
        Workspace([manifests]).migrate_state(pg_database, to_workspace=pg_workspace)
    locked = pytest.raises(StateError, match="state is locked by .*running 'apply'")
    with PostgresStateStore.open(pg_database, workspace=pg_workspace) as busy, busy.lock("apply"), locked:
        Workspace([manifests]).migrate_state(pg_database, to_workspace=pg_workspace)
    Workspace([manifests]).migrate_state(pg_database, to_workspace=pg_workspace)
