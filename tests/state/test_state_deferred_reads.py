"""Records read by `SqliteStateStore.all()` decode their large JSON columns (and outputs) on first read.

Why: a no-change plan never looks at a record's applied spec, file table or observed object
(`state/sqlite.py`, `_StoredRecord`). What is read later must be what was stored, what is changed
must win over what was stored, and the record must be a ResourceRecord to every reader.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path

import pytest
from state_fixtures import FULL_RECORD, make_record

from reconciler.clock import FakeClock
from reconciler.models.state import ResourceRecord
from reconciler.state import sqlite as sqlite_store
from reconciler.state.sqlite import SqliteStateStore

DEFERRED = ("spec", "content_files", "observed", "outputs")


def _stored(where: Path, *records: ResourceRecord) -> dict[str, ResourceRecord]:
    where.mkdir(parents=True, exist_ok=True)
    store = SqliteStateStore.open(where / "state.db", readonly=False, clock=FakeClock(), create=True)
    try:
        for record in records:
            store.put(record, event="create")
        return store.all()
    finally:
        store.close()


def test_deferred_fields_read_what_was_stored(tmp_path: Path) -> None:
    plain = make_record("plain", observed=None)
    read = _stored(tmp_path, FULL_RECORD, plain)
    full = read[FULL_RECORD.address]
    assert "observed" not in full.__dict__  # not decoded yet
    assert full.observed == FULL_RECORD.observed and full.spec == FULL_RECORD.spec
    assert full.content_files == FULL_RECORD.content_files
    assert full.observed is full.observed  # decoded once, then an ordinary field
    assert read[plain.address].observed is None  # a NULL column (and the class default) is None
    for record in read.values():
        assert type(record).__name__ == "_StoredRecord"
        assert repr(record).startswith("ResourceRecord(")


def test_a_stored_record_equals_the_same_record_read_whole(tmp_path: Path) -> None:
    read = _stored(tmp_path, FULL_RECORD)[FULL_RECORD.address]
    whole = dataclasses.replace(FULL_RECORD, updated_at=read.updated_at, created_at=read.created_at)
    assert read == whole and whole == read  # both ways round, before anything is decoded
    assert read != dataclasses.replace(whole, observed={"other": 1})
    assert (
        dataclasses.replace(whole, spec={"x": 1})
        != _stored(tmp_path / "second", FULL_RECORD)[FULL_RECORD.address]
    )


def test_a_change_wins_over_the_stored_text(tmp_path: Path) -> None:
    """The refresh folds observations in with `with_changes`: the new object, never the stored one."""
    read = _stored(tmp_path, FULL_RECORD)[FULL_RECORD.address]
    changed = read.with_changes(observed={"new": True}, status="deleted")
    assert changed.observed == {"new": True} and changed.status == "deleted"
    assert "observed" not in changed.__dict__["_raw"]  # the old text is not kept
    assert changed.spec == FULL_RECORD.spec  # still decodes what was not changed
    assert read.observed == FULL_RECORD.observed  # the original is untouched
    assert changed.to_dict() == {**read.to_dict(), "observed": {"new": True}, "status": "deleted"}
    assigned = _stored(tmp_path / "second", FULL_RECORD)[FULL_RECORD.address]
    assigned.observed = {"set": 1}
    assert assigned.observed == {"set": 1}


def test_copies_replace_and_pickles_carry_every_field(tmp_path: Path) -> None:
    for made in (
        lambda r: copy.copy(r),
        lambda r: copy.deepcopy(r),
        lambda r: pickle.loads(pickle.dumps(r)),
        lambda r: dataclasses.replace(r, status="x"),
        lambda r: ResourceRecord(**dataclasses.asdict(r)),
    ):
        read = _stored(tmp_path, FULL_RECORD)[FULL_RECORD.address]
        other = made(read)
        for name in DEFERRED:
            assert getattr(other, name) == getattr(FULL_RECORD, name), name
        assert other.to_dict() | {"status": None} == read.to_dict() | {"status": None}
        (tmp_path / "state.db").unlink()


def test_a_read_in_batches_gives_every_record_once_with_shared_notes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`all()` decodes `_ROWS_PER_BATCH` rows at a time and shares the notes' strings across them:
    every record comes back, once, as stored; equal notes are one object, their dicts are not."""
    monkeypatch.setattr(sqlite_store, "_ROWS_PER_BATCH", 2)
    note = "no known price for FineTune on dashscope; set spec.pricing.FineTune to price it"
    stored = [
        make_record(
            f"job-{i}",
            outputs={"job_id": f"ft-{i}", "cost_estimated": {"money": None, "unknown": note, "n": i}},
            labels={"team": "effects" if i % 2 else "video"},
        )
        for i in range(5)
    ]
    stored.append(make_record("odd", outputs={"cost_estimated": {"unknown": "another note"}}))
    read = _stored(tmp_path, *stored)
    assert list(read) == sorted(r.address for r in stored)
    for record in stored:
        got = read[record.address]
        assert got.outputs == record.outputs and got.labels == record.labels
    costs = [read[f"FineTune/job-{i}"].outputs["cost_estimated"] for i in range(5)]
    assert all(c["unknown"] is costs[0]["unknown"] for c in costs)  # one string, across batches
    assert read["FineTune/odd"].outputs["cost_estimated"]["unknown"] == "another note"
    costs[0]["money"] = 1.0  # each record's dicts are its own
    assert [c["money"] for c in costs[1:]] == [None] * 4


@pytest.mark.parametrize("decoded_first", [(), ("observed",), ("spec",), ("spec", "observed")])
def test_with_observation_is_with_changes_of_the_four_fields(
    tmp_path: Path, decoded_first: tuple[str, ...]
) -> None:
    """`observe` folds with `with_observation`: the same record `with_changes` makes of the four
    fields, for a stored record whatever it has decoded already, and for a plain one."""
    read = _stored(tmp_path, FULL_RECORD)[FULL_RECORD.address]
    for name in decoded_first:
        getattr(read, name)
    fields = {
        "status": "RUNNING",
        "observed": {"new": True},
        "outputs": {"o": 1},
        "observed_at": "2026-01-02T00:00:00.000Z",
    }
    fast, slow = read.with_observation(**fields), read.with_changes(**fields)
    assert type(fast) is type(slow)
    assert fast.__dict__ == slow.__dict__  # the same fields decoded, the same undecoded texts kept
    assert "observed" not in fast.__dict__.get("_raw", {})  # the stored object's text is not kept
    assert fast.to_dict() == slow.to_dict() and fast.observed == {"new": True}
    assert read.observed == FULL_RECORD.observed  # the original is untouched
    plain = dataclasses.replace(FULL_RECORD)
    assert plain.with_observation(**fields) == dataclasses.replace(plain, **fields)  # type: ignore[arg-type]
    assert type(plain.with_observation(**fields)) is ResourceRecord


def test_outputs_decode_with_their_batch_and_a_bad_column_fails_only_its_own_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`outputs` is decoded for a whole batch on the first read of one record's (`_BatchColumn`):
    every record still reads its own. A column that is not JSON does not fail `all()` (as the
    other deferred columns do not) and fails only the read of that record's outputs."""
    import sqlite3

    monkeypatch.setattr(sqlite_store, "_ROWS_PER_BATCH", 3)
    stored = [make_record(f"job-{i}", outputs={"job_id": f"ft-{i}", "n": [i]}) for i in range(7)]
    stored.append(make_record("none", outputs={}))
    read = _stored(tmp_path, *stored)
    first = read["FineTune/job-0"]
    assert "outputs" not in first.__dict__
    assert first.outputs == {"job_id": "ft-0", "n": [0]}
    for record in stored:  # the rest of the first batch (decoded with it) and the later batches
        assert read[record.address].outputs == record.outputs, record.address
    conn = sqlite3.connect(tmp_path / "state.db")
    with conn:
        conn.execute("UPDATE resources SET outputs = '{\"job_id\": ' WHERE address = 'FineTune/job-4'")
        conn.execute("UPDATE resources SET outputs = '' WHERE address = 'FineTune/job-5'")
    conn.close()
    store = SqliteStateStore.open(tmp_path / "state.db", readonly=True)
    try:
        again = store.all()
    finally:
        store.close()
    assert again["FineTune/job-3"].outputs == {"job_id": "ft-3", "n": [3]}  # same batch as the bad one
    assert again["FineTune/job-5"].outputs is None  # an empty column, as an eager read gives it
    with pytest.raises(ValueError):
        again["FineTune/job-4"].outputs  # noqa: B018 - the read is what is tested
    assert again["FineTune/job-6"].outputs == {"job_id": "ft-6", "n": [6]}
    changed = again["FineTune/job-4"].with_changes(outputs={"fixed": 1})  # a change wins, nothing decodes
    assert changed.outputs == {"fixed": 1}


@pytest.mark.parametrize("outputs_read_first", [False, True])
def test_a_refreshed_stored_record_merges_its_outputs_on_first_read(
    tmp_path: Path, outputs_read_first: bool
) -> None:
    """`observe` folds with `with_refreshed`: a stored record keeps its outputs undecoded, and the
    provider's (`seen`) are laid over them when they are first read — the same record a plain one
    makes at once, whatever was reported: the same values, new ones, changed ones."""
    recorded = {"job_id": "ft-1", "finetuned_output": "m-ft-1", "cost": {"n": 1}}
    stamp = "2026-01-02T00:00:00.000Z"
    for seen, expected in [
        ({"job_id": "ft-1"}, recorded),
        ({"job_id": "ft-1", "model_name": "m2"}, {**recorded, "model_name": "m2"}),
        ({"finetuned_output": "m-ft-2"}, {**recorded, "finetuned_output": "m-ft-2"}),
        ({}, recorded),
    ]:
        where = tmp_path / str(len(list(tmp_path.iterdir())))
        read = _stored(where, make_record("ft", outputs=recorded))["FineTune/ft"]
        if outputs_read_first:
            assert read.outputs == recorded
        new = read.with_refreshed("SUCCEEDED", {"new": True}, seen, stamp)
        assert ("outputs" in new.__dict__) is outputs_read_first  # else merged when first read
        assert "observed" not in new.__dict__.get("_raw", {})  # the stored object's text is not kept
        plain = dataclasses.replace(make_record("ft", outputs=recorded)).with_refreshed(
            "SUCCEEDED", {"new": True}, seen, stamp
        )
        assert pickle.loads(pickle.dumps(new)).outputs == expected  # (a pickle decodes it too)
        assert new.outputs == expected == plain.outputs
        assert new.status == "SUCCEEDED" and new.observed == {"new": True} and new.observed_at == stamp
        assert new.to_dict() == {
            **plain.to_dict(),
            "created_at": read.created_at,
            "updated_at": read.updated_at,
        }
        assert read.outputs == recorded  # the original is untouched
        if seen.items() <= recorded.items():
            assert new.outputs is read.outputs  # reported again unchanged: the recorded dict, no copy


def test_equal_creation_and_observation_times_are_one_string_across_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One apply or refresh stamps many rows with the same times: `all()` reads each distinct
    time as one string object (SQLite gives every row its own), None stays None."""
    monkeypatch.setattr(sqlite_store, "_ROWS_PER_BATCH", 2)
    stamp, seen = "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"
    stored = [
        make_record(f"job-{i}", created_at=stamp, observed_at=None if i == 4 else seen) for i in range(5)
    ]
    read = [r for r in _stored(tmp_path, *stored).values()]
    assert [r.created_at for r in read] == [stamp] * 5
    assert [r.observed_at for r in read] == [seen] * 4 + [None]
    assert all(r.created_at is read[0].created_at for r in read)
    assert all(r.observed_at is read[0].observed_at for r in read[:4])


def test_an_address_or_remote_id_is_one_string_wherever_the_read_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record's address and remote id, and the same texts in its dependents' `dependencies` and
    `built_from`, come back equal to what was stored and as one string object each (across
    batches, whichever row is read first)."""
    monkeypatch.setattr(sqlite_store, "_ROWS_PER_BATCH", 1)
    job = make_record("a-job", remote_id="ft-1")
    export = make_record(
        "b-export", kind="CheckpointExport", remote_id="ft-1:checkpoint-9",
        dependencies=[job.address], built_from={job.address: "ft-1"},
    )  # fmt: skip
    early = make_record("0-early", kind="Deployment", dependencies=[export.address, 7], built_from={})
    read = _stored(tmp_path, job, export, early)
    for record in (job, export, early):
        got = read[record.address]
        assert (got.remote_id, got.dependencies, got.built_from) == (
            record.remote_id, record.dependencies, record.built_from
        )  # fmt: skip
    got_job, got_export, got_early = (read[r.address] for r in (job, export, early))
    assert got_export.dependencies[0] is got_job.address
    assert next(iter(got_export.built_from)) is got_job.address
    assert got_export.built_from[got_job.address] is got_job.remote_id
    assert got_early.dependencies[0] is got_export.address  # (read before the record it names)
    assert next(k for k in read if k == export.address) is got_export.address  # the dict's key too
