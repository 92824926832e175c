"""What an apply step reads of its upstream records: their remote ids and outputs, read alone
(`SqliteStateStore.outputs_of`) where the store can, and exactly what the whole record holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.clock import FakeClock
from reconciler.engine.applying import Executor, StepFailed
from reconciler.models.plans import Action, ActionType
from reconciler.models.state import ResourceRecord
from reconciler.state.sqlite import SqliteStateStore

KEY = "sk-" + "0123456789abcdef" * 2


def _record(address: str, remote_id: str | None, outputs: dict[str, Any]) -> ResourceRecord:
    kind, name = address.split("/")
    return ResourceRecord(
        address=address,
        kind=kind,
        name=name,
        provider="dashscope",
        provider_type="dashscope",
        remote_id=remote_id,
        spec={"model": "wan2.5-i2v-preview", "note": "a spec the step does not read"},
        spec_hash="sha256:" + "ab" * 32,
        content_files={"a.jpg": "sha256:" + "cd" * 32},
        observed={"status": "SUCCEEDED", "big": ["x"] * 50},
        outputs=outputs,
    )


UPSTREAM = [
    _record("Dataset/train", "file-1", {"file_id": "file-1", "samples": 25}),
    _record("FineTune/ft", "ft-1", {"finetuned_output": "wan-ft-1", "note": f"called with Bearer {KEY}"}),
    _record("CheckpointExport/ex", None, {}),
]


@pytest.fixture
def store(tmp_path: Path) -> SqliteStateStore:
    store = SqliteStateStore.open(tmp_path / "state.db")
    for record in UPSTREAM:
        store.put(record, event="created")
    return store


def test_outputs_of_is_what_the_whole_record_holds(store: SqliteStateStore) -> None:
    for record in UPSTREAM:
        whole = store.get(record.address)
        assert whole is not None
        assert store.outputs_of(record.address) == (whole.remote_id, whole.outputs)
    assert store.outputs_of("FineTune/ft")[1]["note"] == "called with [redacted]"  # type: ignore[index]  # found above
    assert store.outputs_of("Dataset/missing") is None
    store.remove("Dataset/train", event="deleted")
    assert store.outputs_of("Dataset/train") is None


class _WholeRecordsOnly:
    """A store without `outputs_of` (another backend): the step reads whole records."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store
        self.gets: list[str] = []

    def get(self, address: str) -> ResourceRecord | None:
        self.gets.append(address)
        return self._store.get(address)


def _action(depends_on: list[str]) -> Action:
    return Action(
        address="Deployment/dep",
        kind="Deployment",
        name="dep",
        provider="dashscope",
        provider_type="dashscope",
        action=ActionType.CREATE,
        depends_on=depends_on,
        desired={"model": "x"},
        spec_hash="sha256:" + "ef" * 32,
    )


def test_a_step_reads_its_upstream_outputs_and_ids(store: SqliteStateStore) -> None:
    reads: list[str] = []
    read = store.outputs_of

    def counting(address: str) -> Any:
        reads.append(address)
        return read(address)

    store.outputs_of = counting  # type: ignore[method-assign]  # to see the step use the narrow read
    executor = Executor(store, {}, FakeClock())
    desired, built_from = executor._desired(_action([r.address for r in UPSTREAM]))
    assert reads == [r.address for r in UPSTREAM]
    fallback = _WholeRecordsOnly(store)
    expected = Executor(fallback, {}, FakeClock())._desired(_action([r.address for r in UPSTREAM]))  # type: ignore[arg-type]  # a partial store
    assert fallback.gets == [r.address for r in UPSTREAM]
    assert (desired.inputs, built_from) == (expected[0].inputs, expected[1])
    assert built_from == {"Dataset/train": "file-1", "FineTune/ft": "ft-1"}  # no remote id, no lineage
    assert desired.inputs["Dataset/train"] == {"file_id": "file-1", "samples": 25}
    assert desired.inputs["CheckpointExport/ex"] == {}


def test_a_missing_upstream_record_fails_the_step(store: SqliteStateStore) -> None:
    with pytest.raises(StepFailed, match="Dataset/gone is not in state"):
        Executor(store, {}, FakeClock())._desired(_action(["Dataset/gone"]))
