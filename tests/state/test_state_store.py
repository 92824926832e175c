"""SqliteStateStore: resources, serial and lineage, events, journal, redaction, errors."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils
from state_fixtures import FULL_RECORD, make_record

from reconciler.clock import FakeClock
from reconciler.models.state import JournalStatus
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
        assert store.path == str(state_path) and not store.readonly
    finally:
        store.close()
    assert set(sqlite_utils.Database(state_path).table_names()) >= {"meta", "resources", "events", "journal"}


def test_lineage_is_generated_once_and_serial_persists(state_path: Path, clock: FakeClock) -> None:
    with SqliteStateStore.open(state_path, clock=clock) as store:
        lineage = store.meta().lineage
        store.put(make_record(), event="create")
    with SqliteStateStore.open(state_path, clock=clock) as store:
        assert store.meta().lineage == lineage
        assert store.meta().serial == 1
    with SqliteStateStore.open(state_path.with_name("other.db"), clock=clock) as other:
        assert other.meta().lineage != lineage


def test_create_false_refuses_a_missing_state(state_path: Path) -> None:
    with pytest.raises(StateError, match="no state at .*state.db"):
        SqliteStateStore.open(state_path, create=False)
    assert not state_path.exists()


def test_a_full_record_round_trips_through_the_store(store: SqliteStateStore) -> None:
    store.put(FULL_RECORD, event="create")
    # An explicit created_at is kept; updated_at is always the store's (the time of the change).
    assert store.get(FULL_RECORD.address) == replace(FULL_RECORD, updated_at="2026-01-01T00:00:00.000Z")
    assert store.all() == {FULL_RECORD.address: store.get(FULL_RECORD.address)}


def test_put_sets_timestamps_from_the_clock_and_keeps_created_at(
    store: SqliteStateStore, clock: FakeClock
) -> None:
    store.put(make_record(), event="create")
    first = store.get("FineTune/money-rain")
    assert first is not None and first.created_at == first.updated_at == "2026-01-01T00:00:00.000Z"
    clock.advance(60)
    first.status = "RUNNING"
    first.created_at = None  # the engine need not carry it
    store.put(first, event="refresh")
    second = store.get("FineTune/money-rain")
    assert second is not None
    assert second.created_at == "2026-01-01T00:00:00.000Z"
    assert second.updated_at == "2026-01-01T00:01:00.000Z"


def test_serial_bumps_on_changing_writes_only(store: SqliteStateStore, clock: FakeClock) -> None:
    record = make_record()
    assert store.put(record, event="create") == 1
    assert store.put(record, event="create") == 1  # identical: nothing written
    record.status = "RUNNING"
    assert store.put(record, event="refresh") == 2
    store.append_event("note", detail={"x": 1})
    entry = store.journal_open("FineTune/money-rain", "cancel", "dashscope-intl", {}, {})
    store.journal_close(entry, "done")
    assert store.meta().serial == 2  # events and the journal do not move it
    assert store.remove("FineTune/money-rain", event="delete") == 3
    assert store.remove("FineTune/money-rain", event="delete") == 3  # unknown address: no-op
    assert [e.event for e in store.events("FineTune/money-rain")] == ["create", "refresh", "delete"]


def test_a_refresh_that_only_re_observes_moves_no_serial_and_writes_no_event(
    store: SqliteStateStore, clock: FakeClock
) -> None:
    record = make_record(observed={"status": "RUNNING"}, observed_at="2026-01-01T00:00:00.000Z")
    store.put(record, event="create")
    clock.advance(30)
    record.observed_at = "2026-01-01T00:00:30.000Z"
    assert store.put(record, event="refresh") == 1
    stored = store.get(record.address)
    assert stored is not None and stored.observed_at == "2026-01-01T00:00:30.000Z"
    assert stored.updated_at == "2026-01-01T00:00:00.000Z"
    assert len(store.events()) == 1


def test_put_many_is_one_transaction_and_one_serial_bump(store: SqliteStateStore) -> None:
    records = [make_record(f"ft-{i}") for i in range(50)]
    assert store.put_many(records, event="import") == 1
    assert len(store.all()) == 50
    records[3].status = "SUCCEEDED"
    assert store.put_many(records, event="refresh") == 2
    assert [(e.address, e.event) for e in store.events()][-1] == ("FineTune/ft-3", "refresh")
    assert len(store.events(limit=1000)) == 51
    assert store.put_many(records, event="refresh") == 2
    assert store.put_many([], event="refresh") == 2


def test_put_many_rolls_back_entirely_on_a_bad_record(store: SqliteStateStore) -> None:
    bad = make_record("bad", spec={"when": object()})
    with pytest.raises(StateError, match="FineTune/bad: spec is not JSON data"):
        store.put_many([make_record("good"), bad], event="import")
    assert store.all() == {} and store.meta().serial == 0


def test_a_record_whose_address_disagrees_with_kind_and_name_is_refused(store: SqliteStateStore) -> None:
    with pytest.raises(
        StateError, match="address 'FineTune/b' does not match its kind and name \\(FineTune/a\\)"
    ):
        store.put(make_record("a", address="FineTune/b"), event="create")
    assert store.all() == {}


def test_all_returns_every_record_in_address_order(store: SqliteStateStore) -> None:
    for name in ["c", "a", "b"]:
        store.put(make_record(name), event="create")
    assert list(store.all()) == ["FineTune/a", "FineTune/b", "FineTune/c"]
    assert store.get("FineTune/zzz") is None


def test_json_columns_are_compact_and_key_sorted(store: SqliteStateStore) -> None:
    store.put(make_record(spec={"b": 1, "a": [1, 2]}), event="create")
    raw = store._connection().execute("SELECT spec FROM resources").fetchone()[0]
    assert raw == '{"a":[1,2],"b":1}'


def test_events_are_append_only_and_listed_oldest_first(store: SqliteStateStore, clock: FakeClock) -> None:
    for i in range(5):
        clock.advance(1)
        store.append_event(f"e{i}", address="FineTune/a" if i % 2 else None, detail={"i": i})
    assert [e.event for e in store.events()] == ["e0", "e1", "e2", "e3", "e4"]
    assert [e.event for e in store.events(limit=2)] == ["e3", "e4"]
    assert [e.event for e in store.events("FineTune/a")] == ["e1", "e3"]
    assert store.events()[1].detail == {"i": 1} and store.events()[1].ts == "2026-01-01T00:00:02.000Z"
    conn = store._connection()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET event = 'forged'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events")
    assert len(store.events()) == 5


def test_journal_open_close_and_open_journal(store: SqliteStateStore, clock: FakeClock) -> None:
    fingerprint = {
        "model": "wan2.5-i2v-preview",
        "training_file_ids": ["file-1"],
        "hyper_parameters": {"n_epochs": 4},
    }
    first = store.journal_open(
        "FineTune/a", "create", "dashscope-intl", {"model": "wan2.5-i2v-preview"}, fingerprint
    )
    second = store.journal_open(
        "Deployment/d", "create", "dashscope-intl", {"model_name": "m"}, {"name": "d"}
    )
    third = store.journal_open("FineTune/b", "cancel", "dashscope-intl", {}, {"job_id": "ft-b"})
    assert first < second < third
    clock.advance(5)
    store.journal_close(second, "done", result={"deployed_model": "m-123"})
    store.journal_close(third, JournalStatus.FAILED, error="400 InvalidParameter: job already finished")
    open_entries = store.open_journal()
    assert [e.id for e in open_entries] == [first]
    entry = open_entries[0]
    assert entry.fingerprint == fingerprint and entry.status == "open" and entry.finished_at is None
    assert entry.started_at == "2026-01-01T00:00:00.000Z"
    store.journal_close(first, "resolved", result={"adopted": "ft-a"})
    assert store.open_journal() == []
    closed = {e.id: e for e in store.journal_entries()}
    assert closed[second].result == {"deployed_model": "m-123"} and closed[second].status == "done"
    assert closed[second].finished_at == "2026-01-01T00:00:05.000Z"
    assert closed[third].error == "400 InvalidParameter: job already finished"
    assert [e.id for e in store.journal_entries("FineTune/a")] == [first]


def test_journal_close_refuses_bad_status_unknown_and_closed_entries(store: SqliteStateStore) -> None:
    entry = store.journal_open("FineTune/a", "create", "p", {}, {})
    with pytest.raises(
        StateError, match="cannot close with status 'open'; use one of: done, failed, resolved"
    ):
        store.journal_close(entry, "open")
    with pytest.raises(StateError, match="journal entry 999 does not exist"):
        store.journal_close(999, "done")
    store.journal_close(entry, "done")
    with pytest.raises(StateError, match="already closed \\(done\\)"):
        store.journal_close(entry, "failed")


def test_the_journal_survives_a_reopen(state_path: Path) -> None:
    with SqliteStateStore.open(state_path) as store:
        entry = store.journal_open("FineTune/a", "create", "p", {"a": 1}, {"f": 1})
    with SqliteStateStore.open(state_path) as store:
        assert [e.id for e in store.open_journal()] == [entry]


def test_secrets_are_redacted_before_they_reach_the_file(store: SqliteStateStore, state_path: Path) -> None:
    key = "sk-" + "0123456789abcdef" * 2
    record = make_record(
        spec={"api_key_env": "DASHSCOPE_API_KEY", "api_key": key},
        observed={"headers": {"Authorization": f"Bearer {key}", "X-Request-req-accessKeySecret": "s3cr3t"}},
        outputs={
            "note": f"called with Bearer {key}",
            "webhook": {"secret": "whsec_abc"},
            "max_token_length": 225,
        },
    )
    store.put(record, event="create", detail={"password": "hunter2"})
    entry = store.journal_open(
        "FineTune/a", "create", "p", {"authorization": f"Bearer {key}"}, {"access_key_secret": "x"}
    )
    store.journal_close(entry, "failed", error=f"401 for key {key}")
    stored = store.get(record.address)
    assert stored is not None
    assert stored.spec == {"api_key_env": "DASHSCOPE_API_KEY", "api_key": "[redacted]"}
    assert stored.observed == {
        "headers": {"Authorization": "[redacted]", "X-Request-req-accessKeySecret": "[redacted]"}
    }
    assert stored.outputs["note"] == "called with [redacted]"
    assert stored.outputs["webhook"] == {"secret": "[redacted]"} and stored.outputs["max_token_length"] == 225
    store.close()
    for path in state_path.parent.iterdir():
        data = path.read_bytes()
        for secret in (key.encode(), b"s3cr3t", b"hunter2", b"whsec_abc"):
            assert secret not in data, (path, secret)


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
        assert store.path is None and store.lock_path is None
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
