"""What only SqliteStateStore does: its file (WAL mode, directory, header checks), in-memory stores,
the default path. Everything both stores do is in test_state_conformance.py."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlite_utils
from state_fixtures import make_record

from reconciler.clock import FakeClock
from reconciler.state import migrations
from reconciler.state.interface import StateError, StateStore
from reconciler.state.sqlite import SqliteStateStore, default_state_path


def test_open_creates_the_directory_in_wal_mode_with_a_fresh_lineage(
    state_path: Path, clock: FakeClock
) -> None:
    assert not state_path.parent.exists()
    store = SqliteStateStore.open(state_path, clock=clock)
    try:
        assert isinstance(store, StateStore)
        assert state_path.parent.is_dir()
        meta = store.meta()
        assert uuid.UUID(meta.lineage).version == 4
        assert meta.serial == 0 and meta.schema_version == migrations.SCHEMA_VERSION
        assert store._connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._connection().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        # an apply's ~10 pages a resource: SQLite's 1,000-page default checkpointed (two fsyncs,
        # inside a step's commit) every ~100 resources
        assert store._connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000
        assert store.path == str(state_path) and not store.readonly
    finally:
        store.close()
    assert set(sqlite_utils.Database(state_path).table_names()) >= {"meta", "resources", "events", "journal"}


def test_writes_after_close_and_bad_paths_say_what_to_do(state_path: Path, tmp_path: Path) -> None:
    store = SqliteStateStore.open(state_path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StateError, match="is closed"):
        store.get("FineTune/a")
    with pytest.raises(StateError, match="is a directory"):
        SqliteStateStore.open(tmp_path)
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("hello, this is not a database" * 10)
    with pytest.raises(StateError, match="not a SQLite file"):
        SqliteStateStore.open(not_sqlite)
    foreign = tmp_path / "foreign.db"
    sqlite_utils.Database(foreign)["dogs"].insert({"name": "Cleo"})
    with pytest.raises(StateError, match="not a reconciler state .*dogs"):
        SqliteStateStore.open(foreign)


def test_in_memory_store_behaves_like_a_file_store(clock: FakeClock) -> None:
    with SqliteStateStore.in_memory(clock=clock) as store:
        assert store.path is None
        assert store.put(make_record(), event="create") == 1
        assert list(store.all()) == ["FineTune/money-rain"]
        with store.lock("apply") as info:
            assert store.lock_info() == info
        assert store.lock_info() is None


def test_default_state_path_is_beside_the_manifests(tmp_path: Path) -> None:
    assert default_state_path(tmp_path) == tmp_path / ".reconciler" / "state.db"
    manifest = tmp_path / "ft.yaml"
    manifest.write_text("")
    assert default_state_path(manifest) == tmp_path / ".reconciler" / "state.db"
