"""The state-store conformance suite (after Terraform's `statemgr.TestFull`): every test runs against
SQLite and PostgreSQL alike, through the `StateStore` interface and its documented semantics
(reconciler/state/interface.py): records, serial and lineage, no-op puts, put_many, remove, the
journal (and `close_journal` atomicity), append-only events, redaction, read-only opens, threads
and processes. The apply lock's part is in test_state_conformance_locks.py; what only one store
has (SQLite's WAL files, PostgreSQL's workspaces and connections) is in test_state_store.py and
test_state_postgres.py.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from dataclasses import replace

import pytest
from state_backends import Backend
from state_fixtures import FULL_RECORD, make_record

from reconciler.clock import FakeClock
from reconciler.models.state import JournalStatus, ResourceRecord
from reconciler.state.interface import StateError, StateStore


def test_a_new_state_has_a_fresh_lineage_and_serial_0(any_store: StateStore, backend: Backend) -> None:
    assert isinstance(any_store, StateStore)
    meta = any_store.meta()
    assert uuid.UUID(meta.lineage).version == 4 and meta.serial == 0 and meta.schema_version >= 1
    assert not any_store.readonly and any_store.path
    assert any_store.all() == {} and any_store.open_journal() == [] and any_store.events() == []


def test_lineage_is_generated_once_and_serial_persists(backend: Backend, clock: FakeClock) -> None:
    with backend.open(clock=clock) as store:
        lineage = store.meta().lineage
        store.put(make_record(), event="create")
    with backend.open(clock=clock) as store:
        assert store.meta().lineage == lineage
        assert store.meta().serial == 1
    with backend.other().open(clock=clock) as other:
        assert other.meta().lineage != lineage
        assert other.all() == {}  # another state never sees this one's records


def test_create_false_refuses_a_missing_state(backend: Backend) -> None:
    with pytest.raises(StateError, match="no state (at|in workspace)"):
        backend.open(create=False)
    with backend.open():
        pass
    backend.open(create=False).close()


def test_a_full_record_round_trips_through_the_store(any_store: StateStore) -> None:
    any_store.put(FULL_RECORD, event="create")
    # An explicit created_at is kept; updated_at is always the store's (the time of the change).
    assert any_store.get(FULL_RECORD.address) == replace(FULL_RECORD, updated_at="2026-01-01T00:00:00.000Z")
    assert any_store.all() == {FULL_RECORD.address: any_store.get(FULL_RECORD.address)}
    deposed = replace(make_record(), deposed=[make_record().to_dict()], built_from={"Dataset/d": "file-1"})
    any_store.put(deposed, event="replace")
    assert any_store.get(deposed.address) == replace(
        deposed, created_at="2026-01-01T00:00:00.000Z", updated_at="2026-01-01T00:00:00.000Z"
    )


def test_put_sets_timestamps_from_the_clock_and_keeps_created_at(
    any_store: StateStore, clock: FakeClock
) -> None:
    any_store.put(make_record(), event="create")
    first = any_store.get("FineTune/money-rain")
    assert first is not None and first.created_at == first.updated_at == "2026-01-01T00:00:00.000Z"
    clock.advance(60)
    first.status = "RUNNING"
    first.created_at = None  # the engine need not carry it
    any_store.put(first, event="refresh")
    second = any_store.get("FineTune/money-rain")
    assert second is not None
    assert second.created_at == "2026-01-01T00:00:00.000Z"
    assert second.updated_at == "2026-01-01T00:01:00.000Z"


def test_serial_bumps_on_changing_writes_only(any_store: StateStore) -> None:
    record = make_record()
    assert any_store.put(record, event="create") == 1
    assert any_store.put(record, event="create") == 1  # identical: nothing written
    record.status = "RUNNING"
    assert any_store.put(record, event="refresh") == 2
    any_store.append_event("note", detail={"x": 1})
    entry = any_store.journal_open("FineTune/money-rain", "cancel", "dashscope-intl", {}, {})
    any_store.journal_close(entry, "done")
    assert any_store.meta().serial == 2  # events and the journal do not move it
    assert any_store.remove("FineTune/money-rain", event="delete") == 3
    assert any_store.remove("FineTune/money-rain", event="delete") == 3  # unknown address: no-op
    assert [e.event for e in any_store.events("FineTune/money-rain")] == ["create", "refresh", "delete"]


def test_a_refresh_that_only_re_observes_moves_no_serial_and_writes_no_event(
    any_store: StateStore, clock: FakeClock
) -> None:
    record = make_record(observed={"status": "RUNNING"}, observed_at="2026-01-01T00:00:00.000Z")
    any_store.put(record, event="create")
    clock.advance(30)
    record.observed_at = "2026-01-01T00:00:30.000Z"
    assert any_store.put(record, event="refresh") == 1
    stored = any_store.get(record.address)
    assert stored is not None and stored.observed_at == "2026-01-01T00:00:30.000Z"
    assert stored.updated_at == "2026-01-01T00:00:00.000Z"
    assert len(any_store.events()) == 1


def test_put_many_is_one_transaction_and_one_serial_bump(any_store: StateStore) -> None:
    records = [make_record(f"ft-{i}") for i in range(50)]
    assert any_store.put_many(records, event="import") == 1
    assert len(any_store.all()) == 50
    records[3].status = "SUCCEEDED"
    records[7].observed_at = "2026-01-01T00:09:00.000Z"  # only re-observed: kept, but no event
    assert any_store.put_many(records, event="refresh") == 2
    assert [(e.address, e.event) for e in any_store.events()][-1] == ("FineTune/ft-3", "refresh")
    assert len(any_store.events(limit=1000)) == 51
    stored = any_store.get("FineTune/ft-7")
    assert stored is not None and stored.observed_at == "2026-01-01T00:09:00.000Z"
    assert any_store.put_many(records, event="refresh") == 2
    assert any_store.put_many([], event="refresh") == 2


def test_put_many_rolls_back_entirely_on_a_bad_record(any_store: StateStore) -> None:
    bad = make_record("bad", spec={"when": object()})
    with pytest.raises(StateError, match="FineTune/bad: spec is not JSON data"):
        any_store.put_many([make_record("good"), bad], event="import")
    assert any_store.all() == {} and any_store.meta().serial == 0


def test_a_record_whose_address_disagrees_with_kind_and_name_is_refused(any_store: StateStore) -> None:
    with pytest.raises(
        StateError, match="address 'FineTune/b' does not match its kind and name \\(FineTune/a\\)"
    ):
        any_store.put(make_record("a", address="FineTune/b"), event="create")
    assert any_store.all() == {}


def test_all_returns_every_record_in_code_point_order(any_store: StateStore) -> None:
    names = ["c", "a-b", "ab", "a", "b9", "b10"]
    for name in names:
        any_store.put(make_record(name), event="create")
    any_store.put(make_record("z", kind="Dataset"), event="create")
    expected = sorted([f"FineTune/{n}" for n in names] + ["Dataset/z"])  # what SQLite's binary order gives
    assert list(any_store.all()) == expected
    assert any_store.get("FineTune/zzz") is None


def test_json_columns_are_compact_and_key_sorted(any_store: StateStore, backend: Backend) -> None:
    any_store.put(make_record(spec={"b": 1, "a": [1, 2]}), event="create")
    assert backend.raw(f"SELECT spec FROM {backend.table('resources')}") == [('{"a":[1,2],"b":1}',)]


def test_events_are_append_only_and_listed_oldest_first(
    any_store: StateStore, backend: Backend, clock: FakeClock
) -> None:
    for i in range(5):
        clock.advance(1)
        any_store.append_event(f"e{i}", address="FineTune/a" if i % 2 else None, detail={"i": i})
    assert [e.event for e in any_store.events()] == ["e0", "e1", "e2", "e3", "e4"]
    assert [e.event for e in any_store.events(limit=2)] == ["e3", "e4"]
    assert [e.event for e in any_store.events("FineTune/a")] == ["e1", "e3"]
    assert any_store.events()[1].detail == {"i": 1} and any_store.events()[1].ts == "2026-01-01T00:00:02.000Z"
    table = "events" if backend.name == "sqlite" else "reconciler.events"
    for statement in (f"UPDATE {table} SET event = 'forged'", f"DELETE FROM {table}"):
        with pytest.raises(Exception, match="append-only"):  # sqlite3 or psycopg: the database refuses
            backend.raw(statement)
    assert len(any_store.events()) == 5


def test_journal_open_close_and_open_journal(any_store: StateStore, clock: FakeClock) -> None:
    fingerprint = {
        "model": "wan2.5-i2v-preview",
        "training_file_ids": ["file-1"],
        "hyper_parameters": {"n_epochs": 4},
    }
    first = any_store.journal_open(
        "FineTune/a", "create", "dashscope-intl", {"model": "wan2.5-i2v-preview"}, fingerprint
    )
    second = any_store.journal_open(
        "Deployment/d", "create", "dashscope-intl", {"model_name": "m"}, {"name": "d"}
    )
    third = any_store.journal_open("FineTune/b", "cancel", "dashscope-intl", {}, {"job_id": "ft-b"})
    assert first < second < third
    clock.advance(5)
    any_store.journal_close(second, "done", result={"deployed_model": "m-123"})
    any_store.journal_close(third, JournalStatus.FAILED, error="400 InvalidParameter: job already finished")
    open_entries = any_store.open_journal()
    assert [e.id for e in open_entries] == [first]
    entry = open_entries[0]
    assert entry.fingerprint == fingerprint and entry.status == "open" and entry.finished_at is None
    assert entry.started_at == "2026-01-01T00:00:00.000Z"
    any_store.journal_close(first, "resolved", result={"adopted": "ft-a"})
    assert any_store.open_journal() == []
    closed = {e.id: e for e in any_store.journal_entries()}  # type: ignore[attr-defined]
    assert closed[second].result == {"deployed_model": "m-123"} and closed[second].status == "done"
    assert closed[second].finished_at == "2026-01-01T00:00:05.000Z"
    assert closed[third].error == "400 InvalidParameter: job already finished"
    assert [e.id for e in any_store.journal_entries("FineTune/a")] == [first]  # type: ignore[attr-defined]


def test_journal_close_refuses_bad_status_unknown_and_closed_entries(any_store: StateStore) -> None:
    entry = any_store.journal_open("FineTune/a", "create", "p", {}, {})
    with pytest.raises(
        StateError, match="cannot close with status 'open'; use one of: done, failed, resolved"
    ):
        any_store.journal_close(entry, "open")
    with pytest.raises(StateError, match="journal entry 999999 does not exist"):
        any_store.journal_close(999999, "done")
    any_store.journal_close(entry, "done")
    with pytest.raises(StateError, match="already closed \\(done\\)"):
        any_store.journal_close(entry, "failed")


def test_put_closes_its_journal_entry_in_the_same_transaction(any_store: StateStore) -> None:
    entry = any_store.journal_open("FineTune/money-rain", "create", "p", {"a": 1}, {"f": 1})
    any_store.put(make_record(), event="create", close_journal=(entry, "done", {"job_id": "ft-money-rain"}))
    assert any_store.open_journal() == []
    assert any_store.get("FineTune/money-rain") is not None
    # Closing an entry that is already closed fails the whole put: the record is not written either.
    with pytest.raises(StateError, match="already closed"):
        any_store.put(make_record("other"), event="create", close_journal=(entry, "done", None))
    assert any_store.get("FineTune/other") is None and any_store.meta().serial == 1
    # …and a record that cannot be stored leaves its journal entry open.
    second = any_store.journal_open("FineTune/bad", "create", "p", {}, {})
    with pytest.raises(StateError, match="not JSON data"):
        any_store.put(
            make_record("bad", spec={"x": object()}), event="create", close_journal=(second, "done", None)
        )
    assert [e.id for e in any_store.open_journal()] == [second]


def test_the_journal_survives_a_reopen(backend: Backend) -> None:
    with backend.open() as store:
        entry = store.journal_open("FineTune/a", "create", "p", {"a": 1}, {"f": 1})
    with backend.open() as store:
        assert [e.id for e in store.open_journal()] == [entry]


def test_secrets_are_redacted_before_they_are_stored(any_store: StateStore, backend: Backend) -> None:
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
    any_store.put(record, event="create", detail={"password": "hunter2"})
    entry = any_store.journal_open(
        "FineTune/a", "create", "p", {"authorization": f"Bearer {key}"}, {"access_key_secret": "x"}
    )
    any_store.journal_close(entry, "failed", error=f"401 for key {key}")
    stored = any_store.get(record.address)
    assert stored is not None
    assert stored.spec == {"api_key_env": "DASHSCOPE_API_KEY", "api_key": "[redacted]"}
    assert stored.observed == {
        "headers": {"Authorization": "[redacted]", "X-Request-req-accessKeySecret": "[redacted]"}
    }
    assert stored.outputs["note"] == "called with [redacted]"
    assert stored.outputs["webhook"] == {"secret": "[redacted]"} and stored.outputs["max_token_length"] == 225
    any_store.close()
    data = backend.persisted_text()
    assert b"DASHSCOPE_API_KEY" in data  # the scan sees the stored rows
    for secret in (key.encode(), b"s3cr3t", b"hunter2", b"whsec_abc"):
        assert secret not in data, secret


def test_a_closed_store_says_so(backend: Backend) -> None:
    store = backend.open()
    store.close()
    store.close()  # idempotent
    with pytest.raises(StateError, match="is closed"):
        store.get("FineTune/a")


# -- read-only opens (what `plan` uses) ---------------------------------------------------------


def _reads(store: StateStore) -> None:
    store.meta()
    store.all()
    store.get("FineTune/money-rain")
    store.events()
    store.events("FineTune/money-rain", limit=5)
    store.open_journal()
    store.journal_entries()  # type: ignore[attr-defined]
    store.lock_info()


def _writes(store: StateStore) -> list[tuple[str, object]]:
    return [
        ("put", lambda: store.put(make_record(), event="create")),
        ("put_many", lambda: store.put_many([make_record()], event="refresh")),
        ("remove", lambda: store.remove("FineTune/money-rain", event="delete")),
        ("append_event", lambda: store.append_event("x")),
        ("journal_open", lambda: store.journal_open("FineTune/a", "create", "p", {}, {})),
        ("journal_close", lambda: store.journal_close(1, "done")),
        ("lock", lambda: store.lock("apply").__enter__()),
        ("force_unlock", lambda: store.force_unlock()),
    ]


@pytest.fixture
def populated(backend: Backend) -> Backend:
    with backend.open() as store:
        store.put_many([make_record(f"ft-{i}") for i in range(20)], event="import")
        entry = store.journal_open("FineTune/ft-1", "create", "p", {"a": 1}, {"f": 1})
        store.journal_close(entry, "done")
        store.journal_open("FineTune/ft-2", "create", "p", {"a": 2}, {"f": 2})
        with store.lock("apply"):
            pass
    return backend


def test_read_only_use_changes_nothing(populated: Backend) -> None:
    before = populated.persisted()
    with populated.open(readonly=True) as store:
        assert store.readonly
        _reads(store)
        assert len(store.all()) == 20 and len(store.open_journal()) == 1
        for name, attempt in _writes(store):
            with pytest.raises(StateError, match="read-only"):
                attempt()  # type: ignore[operator]
            assert populated.persisted() == before, name
    assert populated.persisted() == before


def test_read_only_beside_an_open_writer_sees_what_it_committed(populated: Backend) -> None:
    with populated.open() as writer:
        writer.put(make_record("while-reading"), event="create")
        with populated.open(readonly=True) as reader:
            assert "FineTune/while-reading" in reader.all()
            assert reader.meta() == writer.meta()


def test_a_missing_state_reads_as_empty_and_nothing_is_created(backend: Backend) -> None:
    before = backend.persisted()
    with backend.open(readonly=True) as store:
        meta = store.meta()
        assert (meta.lineage, meta.serial) == ("", 0)
        assert store.all() == {} and store.get("FineTune/a") is None and store.open_journal() == []
        assert store.events() == [] and store.lock_info() is None
        with pytest.raises(StateError, match="read-only"):
            store.put(make_record(), event="create")
    assert backend.persisted() == before


# -- threads and processes -----------------------------------------------------------------------


def test_threads_share_one_store_without_losing_a_write(any_store: StateStore) -> None:
    threads, per_thread = 8, 40
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                record = make_record(f"t{t}-{i}")
                any_store.put(record, event="create")
                entry = any_store.journal_open(record.address, "create", "p", {"i": i}, {"t": t})
                record.status = "RUNNING"
                any_store.put(record, event="refresh")
                any_store.journal_close(entry, "done", result={"ok": True})
                any_store.get(record.address)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    total = threads * per_thread
    assert len(any_store.all()) == total
    assert any_store.meta().serial == 2 * total
    assert len(any_store.events(limit=10 * total)) == 2 * total
    assert any_store.open_journal() == []


WRITER = """
import sys
from pathlib import Path
from reconciler.models.state import ResourceRecord
from reconciler.state.locations import state_location
from reconciler.wiring import open_store
state, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
workspace = sys.argv[4] if len(sys.argv) > 4 else None
store = open_store(state_location(state, manifest_root=Path.cwd(), workspace=workspace), readonly=False)
for i in range(count):
    store.put(ResourceRecord(address=f"Dataset/{name}-{i}", kind="Dataset", name=f"{name}-{i}", provider="p",
              provider_type="dashscope", remote_id=None, spec={"i": i}, spec_hash="h"), event="create")
store.close()
"""


def test_separate_processes_writing_at_once_keep_every_serial_bump(
    any_store: StateStore, backend: Backend
) -> None:
    count = 150
    state, *workspace = backend.args
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, state, name, str(count), *workspace])
        for name in ("a", "b")
    ]
    for name in range(count // 3):  # and this process writes too
        any_store.put(make_record(f"main-{name}"), event="create")
    assert [p.wait(timeout=60) for p in processes] == [0, 0]
    assert len(any_store.all()) == 2 * count + count // 3
    assert any_store.meta().serial == 2 * count + count // 3


# -- move (state mv, metadata.moved_from) -------------------------------------------------------


def _chain() -> list[ResourceRecord]:
    dataset = make_record("money-rain-train", kind="Dataset", remote_id="file-1")
    job = make_record(
        deposed=[make_record(remote_id="ft-old").to_dict()],
        dependencies=["Dataset/money-rain-train"],
        built_from={"Dataset/money-rain-train": "file-1"},
    )
    export = make_record(
        "money-rain-c600",
        kind="CheckpointExport",
        remote_id="ft-money-rain:checkpoint-600",
        spec={"fine_tune": "money-rain", "checkpoint": "checkpoint-600"},
        dependencies=["FineTune/money-rain"],
        built_from={"FineTune/money-rain": "ft-money-rain"},
    )
    other = make_record("unrelated", kind="Deployment", remote_id="dep-1", dependencies=["FineTune/x"])
    return [dataset, job, export, other]


def test_move_renames_the_record_and_repoints_lineage_in_one_write(
    any_store: StateStore, clock: FakeClock
) -> None:
    dataset, job, export, other = _chain()
    any_store.put_many([dataset, job, export, other], event="create")
    before = any_store.meta().serial
    clock.advance(5)
    serial = any_store.move("FineTune/money-rain", "FineTune/rain-v2")
    assert serial == before + 1 == any_store.meta().serial
    records = any_store.all()
    assert "FineTune/money-rain" not in records
    moved = records["FineTune/rain-v2"]
    # the same provider object, its own lineage and history kept; only the address and name change
    assert (moved.name, moved.remote_id, moved.spec, moved.spec_hash) == (
        "rain-v2",
        job.remote_id,
        job.spec,
        job.spec_hash,
    )
    assert moved.built_from == job.built_from and moved.created_at == "2026-01-01T00:00:00.000Z"
    assert [(d["address"], d["name"], d["remote_id"]) for d in moved.deposed] == [
        ("FineTune/rain-v2", "rain-v2", "ft-old")
    ]
    # a dependent still knows which object it was built from, under the new address
    assert records["CheckpointExport/money-rain-c600"].built_from == {"FineTune/rain-v2": "ft-money-rain"}
    assert records["CheckpointExport/money-rain-c600"].dependencies == ["FineTune/rain-v2"]
    assert records["CheckpointExport/money-rain-c600"].spec == export.spec  # as applied
    assert records["Dataset/money-rain-train"] == any_store.get("Dataset/money-rain-train")
    assert records["Deployment/unrelated"].dependencies == ["FineTune/x"]
    assert [(e.address, e.event, e.detail) for e in any_store.events()][-1] == (
        "FineTune/rain-v2",
        "moved",
        {"from": "FineTune/money-rain", "to": "FineTune/rain-v2"},
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("FineTune/absent", "FineTune/b", "FineTune/absent is not in state"),
        ("FineTune/money-rain", "Deployment/money-rain", "the kinds differ"),
        ("FineTune/money-rain", "FineTune/money-rain", "the same address"),
        ("FineTune/money-rain", "CheckpointExport/money-rain-c600", "the kinds differ"),
        ("Dataset/money-rain-train", "Dataset/money-rain-train", "the same address"),
        ("FineTune/money-rain", "nonsense", "not an address"),
    ],
)
def test_a_refused_move_writes_nothing(any_store: StateStore, old: str, new: str, message: str) -> None:
    any_store.put_many(_chain(), event="create")
    before, meta, events = any_store.all(), any_store.meta(), any_store.events()
    with pytest.raises(StateError, match=message):
        any_store.move(old, new)
    assert (any_store.all(), any_store.meta(), any_store.events()) == (before, meta, events)


def test_a_move_onto_an_existing_address_or_with_an_open_call_is_refused(any_store: StateStore) -> None:
    dataset, job, export, other = _chain()
    second = make_record("second", remote_id="ft-second")
    any_store.put_many([dataset, job, export, other, second], event="create")
    before = any_store.all()
    with pytest.raises(StateError, match="FineTune/second is already in state.*state rm FineTune/second"):
        any_store.move("FineTune/money-rain", "FineTune/second")
    entry = any_store.journal_open("FineTune/money-rain", "create", "dashscope-intl", {}, {})
    with pytest.raises(StateError, match=f"journal entry {entry}.* still open"):
        any_store.move("FineTune/money-rain", "FineTune/third")
    assert any_store.all() == before
