"""State records round-trip through dicts and JSON unchanged; unknown fields are refused."""

from __future__ import annotations

import json

import pytest
from state_fixtures import FULL_RECORD, make_record

from reconciler.models.state import (
    Event,
    JournalEntry,
    JournalStatus,
    LockInfo,
    ResourceRecord,
    StateMeta,
    iso_utc,
    parse_iso_utc,
)

RECORDS = [
    FULL_RECORD,
    make_record(),  # defaults only
    StateMeta(lineage="8c1f8a53-0b1e-4a8e-9f3c-1e2d3c4b5a69", serial=42, schema_version=2),
    JournalEntry(
        id=7,
        address="FineTune/money-rain",
        operation="create",
        provider="dashscope-intl",
        request={"model": "wan2.5-i2v-preview", "training_file_ids": ["file-ft-1"]},
        fingerprint={
            "model": "wan2.5-i2v-preview",
            "training_file_ids": ["file-ft-1"],
            "hyper_parameters": {},
        },
        status=JournalStatus.DONE,
        started_at="2026-01-01T00:00:00.000Z",
        finished_at="2026-01-01T00:00:01.000Z",
        result={"job_id": "ft-1"},
        error=None,
    ),
    Event(id=3, ts="2026-01-01T00:00:00.000Z", address=None, event="refresh", detail={"count": 3}),
    LockInfo(
        owner="ana",
        pid=4242,
        host="ci-7",
        operation="apply",
        started_at="2026-01-01T00:00:00.000Z",
        lock_id="x",
    ),
]


@pytest.mark.parametrize("original", RECORDS, ids=lambda r: type(r).__name__)
def test_every_record_round_trips_through_json(original: object) -> None:
    data = original.to_dict()  # type: ignore[attr-defined]
    text = json.dumps(data)
    restored = type(original).from_dict(json.loads(text))  # type: ignore[attr-defined]
    assert restored == original
    assert restored.to_dict() == data  # type: ignore[attr-defined]


def test_resource_record_to_dict_names_every_field() -> None:
    assert set(FULL_RECORD.to_dict()) == set(ResourceRecord.__dataclass_fields__)


def test_unknown_fields_are_refused_with_their_names() -> None:
    data = make_record().to_dict() | {"remote_ids": ["x"]}
    with pytest.raises(ValueError, match="ResourceRecord: unknown field.*remote_ids"):
        ResourceRecord.from_dict(data)


def test_defaults_are_not_shared_between_records() -> None:
    first, second = make_record("a"), make_record("b")
    first.outputs["file_id"] = "file-1"
    first.dependencies.append("Dataset/x")
    assert second.outputs == {} and second.dependencies == []


def test_iso_utc_is_utc_with_milliseconds_and_parses_back() -> None:
    assert iso_utc(1_767_225_600.0) == "2026-01-01T00:00:00.000Z"
    assert iso_utc(1_767_225_600.25) == "2026-01-01T00:00:00.250Z"
    assert parse_iso_utc("2026-01-01T00:00:00.250Z") == 1_767_225_600.25
    assert parse_iso_utc("2026-01-01T08:00:00+08:00") == 1_767_225_600.0


def test_journal_entry_knows_when_it_is_open() -> None:
    entry = JournalEntry.from_dict(RECORDS[3].to_dict() | {"status": "open"})  # type: ignore[union-attr]
    assert entry.is_open
    assert not RECORDS[3].is_open  # type: ignore[union-attr]
