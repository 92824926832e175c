"""A read-only store (what `plan` uses) changes nothing on disk: not a byte, not a new file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from state_fixtures import make_record

from reconciler.state.interface import StateError
from reconciler.state.sqlite import SqliteStateStore


def snapshot(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def use_every_read(store: SqliteStateStore) -> None:
    store.meta()
    store.all()
    store.get("FineTune/money-rain")
    store.events()
    store.events("FineTune/money-rain", limit=5)
    store.open_journal()
    store.journal_entries()
    store.lock_info()


def write_attempts(store: SqliteStateStore) -> list[tuple[str, object]]:
    return [
        ("put", lambda: store.put(make_record(), event="create")),
        ("put_many", lambda: store.put_many([make_record()], event="refresh")),
        ("remove", lambda: store.remove("FineTune/money-rain", event="delete")),
        ("move", lambda: store.move("FineTune/money-rain", "FineTune/elsewhere")),
        ("append_event", lambda: store.append_event("x")),
        ("journal_open", lambda: store.journal_open("FineTune/a", "create", "p", {}, {})),
        ("journal_close", lambda: store.journal_close(1, "done")),
        ("lock", lambda: store.lock("apply").__enter__()),
        ("force_unlock", lambda: store.force_unlock()),
    ]


@pytest.fixture
def populated(state_path: Path) -> Path:
    with SqliteStateStore.open(state_path) as store:
        store.put_many([make_record(f"ft-{i}") for i in range(20)], event="import")
        entry = store.journal_open("FineTune/ft-1", "create", "p", {"a": 1}, {"f": 1})
        store.journal_close(entry, "done")
        store.journal_open("FineTune/ft-2", "create", "p", {"a": 2}, {"f": 2})
        with store.lock("apply"):
            pass
    return state_path


def test_read_only_use_changes_no_byte_and_creates_no_file(populated: Path) -> None:
    before = snapshot(populated.parent)
    assert set(before) == {"state.db", "state.db.lock"}  # the writer left no -wal/-shm behind
    with SqliteStateStore.open(populated, readonly=True) as store:
        use_every_read(store)
        assert len(store.all()) == 20 and len(store.open_journal()) == 1
        for name, attempt in write_attempts(store):
            with pytest.raises(StateError, match="read-only"):
                attempt()  # type: ignore[operator]
            assert snapshot(populated.parent) == before, name
    assert snapshot(populated.parent) == before


def test_read_only_beside_an_open_writer_leaves_the_database_file_alone(populated: Path) -> None:
    writer = SqliteStateStore.open(populated)
    try:
        writer.put(make_record("while-reading"), event="create")  # lives in the -wal for now
        names_before = set(snapshot(populated.parent))
        db_before = snapshot(populated.parent)["state.db"]
        with SqliteStateStore.open(populated, readonly=True) as store:
            use_every_read(store)
            assert "FineTune/while-reading" in store.all()  # sees committed WAL content
            assert store.meta() == writer.meta()
        assert set(snapshot(populated.parent)) == names_before
        assert snapshot(populated.parent)["state.db"] == db_before
    finally:
        writer.close()


def test_a_missing_state_reads_as_empty_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "manifests" / ".reconciler" / "state.db"
    with SqliteStateStore.open(path, readonly=True) as store:
        meta = store.meta()
        assert (meta.lineage, meta.serial) == ("", 0)
        assert store.all() == {} and store.get("FineTune/a") is None and store.open_journal() == []
        assert store.lock_info() is None
        with pytest.raises(StateError, match="read-only"):
            store.put(make_record(), event="create")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_sqlite_file_reads_as_an_empty_state(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")  # materialise an empty database file
    conn.execute("CREATE TABLE t (x)")
    conn.execute("DROP TABLE t")
    conn.close()
    before = snapshot(tmp_path)
    with SqliteStateStore.open(path, readonly=True) as store:
        assert store.meta().serial == 0 and store.all() == {}
    assert snapshot(tmp_path) == before


def test_a_wal_file_without_wal_companions_is_read_without_creating_them(populated: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(populated, isolation_level=None)  # leave it in WAL mode, cleanly closed
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    before = snapshot(populated.parent)
    assert "state.db-wal" not in before
    with SqliteStateStore.open(populated, readonly=True) as store:
        use_every_read(store)
        assert len(store.all()) == 20
    assert snapshot(populated.parent) == before
