"""Schema versions: an old file is migrated in place, a newer one is refused, a failed migration changes nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from reconciler.state import migrations
from reconciler.state.interface import StateError
from reconciler.state.sqlite import SqliteStateStore


def make_v1_state(path: Path) -> None:
    """A state as the first released schema wrote it, with one resource, one event and one open journal row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn, execute_plugins=False)
    assert (
        migrations.migrate(db, lineage="lineage-v1", now="2025-06-01T00:00:00.000Z", where="test", up_to=1)
        == 1
    )
    conn.execute(
        "INSERT INTO resources VALUES ('Dataset/d', 'Dataset', 'd', 'ds', 'dashscope', 'file-1', '{\"a\":1}', 'h', "
        "'dg', '{}', 'processed', NULL, '{\"file_id\":\"file-1\"}', '[]', '{}', '{}', 't0', 't0', NULL)"
    )
    conn.execute("UPDATE meta SET serial = 7")
    conn.execute("INSERT INTO events (ts, address, event, detail) VALUES ('t0', 'Dataset/d', 'create', '{}')")
    conn.execute(
        "INSERT INTO journal (address, operation, provider, request, fingerprint, status, started_at) "
        "VALUES ('FineTune/f', 'create', 'ds', '{}', '{\"model\":\"m\"}', 'open', 't0')"
    )
    conn.close()


def test_a_v1_state_is_migrated_in_place_keeping_everything(state_path: Path) -> None:
    make_v1_state(state_path)
    with SqliteStateStore.open(state_path) as store:
        meta = store.meta()
        assert (meta.lineage, meta.serial, meta.schema_version) == (
            "lineage-v1",
            7,
            migrations.SCHEMA_VERSION,
        )
        record = store.get("Dataset/d")
        assert record is not None and record.outputs == {"file_id": "file-1"} and record.spec == {"a": 1}
        assert [e.fingerprint for e in store.open_journal()] == [{"model": "m"}]
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):  # v2's triggers are in place
            store._connection().execute("DELETE FROM events")
    indexes = {
        row[0]
        for row in sqlite3.connect(state_path).execute("SELECT name FROM sqlite_master WHERE type='index'")
    }
    assert {"events_by_address", "journal_open_entries"} <= indexes


def test_a_read_only_open_reads_an_older_readable_schema_without_migrating(state_path: Path) -> None:
    make_v1_state(state_path)
    before = hashlib.sha256(state_path.read_bytes()).hexdigest()
    with SqliteStateStore.open(state_path, readonly=True) as store:
        assert store.meta().schema_version == 1
        assert list(store.all()) == ["Dataset/d"]
    assert hashlib.sha256(state_path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("readonly", [False, True])
def test_a_state_from_a_newer_reconciler_is_refused(state_path: Path, readonly: bool) -> None:
    SqliteStateStore.open(state_path).close()
    conn = sqlite3.connect(state_path, isolation_level=None)
    conn.execute("UPDATE meta SET schema_version = 99")
    conn.close()
    before = hashlib.sha256(state_path.read_bytes()).hexdigest()
    with pytest.raises(StateError, match="newer reconciler \\(state schema version 99.*Upgrade reconciler"):
        SqliteStateStore.open(state_path, readonly=readonly)
    assert hashlib.sha256(state_path.read_bytes()).hexdigest() == before  # refused untouched


def test_a_failing_migration_leaves_the_file_as_it_was(
    state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SqliteStateStore.open(state_path) as store:
        store.append_event("before")
    nxt = migrations.SCHEMA_VERSION + 1
    broken = (*migrations.MIGRATIONS, (nxt, ("CREATE TABLE extra (x)", "THIS IS NOT SQL")))
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", nxt)
    with pytest.raises(StateError, match="SQLite error"):
        SqliteStateStore.open(state_path)
    monkeypatch.undo()
    with SqliteStateStore.open(state_path) as store:
        assert store.meta().schema_version == nxt - 1
        assert "extra" not in sqlite_utils.Database(store._connection(), execute_plugins=False).table_names()


def test_migrations_are_numbered_in_order() -> None:
    versions = [version for version, _ in migrations.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))
    assert versions[-1] == migrations.SCHEMA_VERSION
    assert 1 <= migrations.MIN_READABLE_VERSION <= migrations.SCHEMA_VERSION
