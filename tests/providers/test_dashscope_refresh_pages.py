"""A DashScope refresh folds list pages one at a time, and reads a settled export from its text.

Why: at 5,000 chains every page's models held at once (files, jobs, deployments) were ~27 MB at
the no-change plan's peak; a page's models now go once observed. What must not change: each
record's observation (the last listed object of its id wins, a missing one is gone, two records
of one id get an observation each), the requests made, and what an export reads from its record.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.clock import FakeClock
from reconciler.models.state import ResourceRecord
from reconciler.providers.dashscope.handlers import Deployments, Exports, Files, Jobs, JobsSeen
from reconciler.providers.dashscope.observations import deployment_obs, export_obs, file_obs, job_obs
from reconciler.providers.dashscope.types import Checkpoint, Deployment, FileObject, FineTuneJob
from reconciler.providers.interface import Phase
from reconciler.state.sqlite import SqliteStateStore


def _record(kind: str, name: str, remote_id: str | None, **more: Any) -> ResourceRecord:
    return ResourceRecord(
        address=f"{kind}/{name}",
        kind=kind,
        name=name,
        provider="dashscope",
        provider_type="dashscope",
        remote_id=remote_id,
        spec={},
        spec_hash="h",
        **more,
    )


class PagedClient:
    """Lists in pages of two; remembers weak references to every model it made, by page."""

    def __init__(
        self, files: list[FileObject], jobs: list[FineTuneJob], deployments: list[Deployment]
    ) -> None:
        self._files, self._jobs, self._deployments = files, jobs, deployments
        self.pages: list[list[weakref.ref[Any]]] = []
        self.lists = 0

    def _paged(self, items: list[Any]) -> Iterator[Any]:
        self.lists += 1
        for start in range(0, len(items), 2):
            page = [item.model_copy() for item in items[start : start + 2]]  # a fresh model per page
            self.pages.append([weakref.ref(m) for m in page])
            yield from page
            del page

    def iter_files(self, purpose: str | None = None) -> Iterator[FileObject]:
        return self._paged(self._files)

    def iter_fine_tunes(self) -> Iterator[FineTuneJob]:
        return self._paged(self._jobs)

    def iter_deployments(self) -> Iterator[Deployment]:
        return self._paged(self._deployments)

    def alive(self) -> list[int]:
        """The pages any of whose models is still referenced."""
        gc.collect()
        return [i for i, refs in enumerate(self.pages) if any(r() is not None for r in refs)]


FILES = [FileObject(id=f"file-{i}", filename=f"d{i}.zip", status="processed", created_at=i) for i in range(6)]
JOBS = [
    FineTuneJob(job_id=f"ft-{i}", status="SUCCEEDED", model="wan", finetuned_output=f"wan-ft-{i}")
    for i in range(6)
]
DEPLOYMENTS = [
    Deployment(deployed_model=f"dep-{i}", model_name=f"wan-ft-{i}", status="RUNNING") for i in range(6)
]


@pytest.mark.parametrize(
    ("handler", "kind", "ids", "observe"),
    [
        (Files, "Dataset", [f.id for f in FILES], lambda: [file_obs(f) for f in FILES]),
        (Jobs, "FineTune", [j.job_id for j in JOBS], lambda: [job_obs(j) for j in JOBS]),
        (Deployments, "Deployment", [d.deployed_model for d in DEPLOYMENTS], lambda: [deployment_obs(d) for d in DEPLOYMENTS]),
    ],
)  # fmt: skip
def test_each_record_is_observed_as_before_and_no_earlier_page_outlives_its_fold(
    handler: Any, kind: str, ids: list[str], observe: Any
) -> None:
    client = PagedClient(FILES, JOBS, DEPLOYMENTS)
    wanted = [ids[4], ids[0], "missing", ids[2], ids[0]]  # out of list order, one gone, one twice
    records = [_record(kind, f"r{n}", rid) for n, rid in enumerate(wanted)]
    alive_when_observing: list[list[int]] = []
    real = handler.read_many

    import reconciler.providers.dashscope.handlers as handlers

    name = {"Dataset": "file_obs", "FineTune": "job_obs", "Deployment": "deployment_obs"}[kind]
    original = getattr(handlers, name)

    def spying(item: Any) -> Any:
        alive_when_observing.append(client.alive())
        return original(item)

    setattr(handlers, name, spying)
    try:
        got = real(handler(client), records)
    finally:
        setattr(handlers, name, original)

    expected = dict(zip(ids, observe(), strict=True))
    assert list(got) == [r.address for r in records]  # the records' order
    for r in records:
        if r.remote_id == "missing":
            assert got[r.address].phase is Phase.GONE and got[r.address].remote_id == "missing"
        else:
            assert got[r.address] == expected[r.remote_id]
    assert got[f"{kind}/r1"] is not got[f"{kind}/r4"]  # one object, two records: two observations
    assert client.lists == 1
    # while a page is observed, no page before the previous one is still held
    assert all(max(alive, default=0) - min(alive, default=0) <= 1 for alive in alive_when_observing)
    assert client.alive() == []


def test_a_later_listing_of_the_same_id_wins_as_in_a_dict() -> None:
    first = FileObject(id="file-1", filename="old.zip", status="processed")
    second = FileObject(id="file-1", filename="new.zip", status="processed")
    client = PagedClient([first, FILES[0], second], [], [])
    got = Files(client).read_many([_record("Dataset", "d", "file-1")])  # type: ignore[arg-type]
    assert got["Dataset/d"] == file_obs(second)


def test_the_jobs_seen_are_ids_and_spare_the_exports_a_second_jobs_list() -> None:
    client = PagedClient([], JOBS, [])
    seen = JobsSeen()
    Jobs(client).read_many([_record("FineTune", f"j{i}", f"ft-{i}") for i in range(3)], seen)  # type: ignore[arg-type]
    assert seen.job_ids == {j.job_id for j in JOBS}
    checkpoint = Checkpoint(
        checkpoint="checkpoint-8", status="SUCCEEDED", model_name="m-8", expire_time="2099-01-01 00:00:00"
    )
    export = _record(
        "CheckpointExport",
        "e",
        "ft-1:checkpoint-8",
        status="SUCCEEDED",
        observed=checkpoint.model_dump(exclude_none=True),
    )
    clock = FakeClock()
    got = Exports(client, clock, 1).read_many([export], seen)  # type: ignore[arg-type]
    assert client.lists == 1  # the jobs list was not asked again
    assert got["CheckpointExport/e"] == export_obs(clock, "ft-1", checkpoint)


def test_a_settled_export_is_read_from_its_stored_text_as_from_its_decoded_object(tmp_path: Any) -> None:
    checkpoint = Checkpoint(
        checkpoint="checkpoint-8", job_id="ft-1", step=8, status="SUCCEEDED", model_name="m-8",
        model_display_name="m", create_time="2026-01-01 00:00:00", expire_time="2099-01-01 00:00:00",
        extra_field={"kept": [1, 2.5, None]},  # type: ignore[call-arg]  # extra="allow"
    )  # fmt: skip
    observed = checkpoint.model_dump(mode="json", exclude_none=True, by_alias=True)
    record = _record("CheckpointExport", "e", "ft-1:checkpoint-8", status="SUCCEEDED", observed=observed)
    with SqliteStateStore.open(tmp_path / "state.db") as store:
        store.put(record, event="test")
        stored = store.all()["CheckpointExport/e"]
    assert stored.observed_text() is not None and record.observed_text() is None
    seen = JobsSeen()
    seen.job_ids = {"ft-1"}
    clock = FakeClock()
    from_text = Exports(PagedClient([], [], []), clock, 1).read_many([stored], seen)  # type: ignore[arg-type]
    assert "observed" not in stored.__dict__  # never decoded: validated from its text
    from_dict = Exports(PagedClient([], [], []), clock, 1).read_many([record], seen)  # type: ignore[arg-type]
    assert from_text == from_dict
    assert from_text["CheckpointExport/e"].object == observed
    assert stored.observed == observed and stored.observed_text() is None  # once read, the value


@pytest.mark.parametrize("observed", [None, {}])
def test_an_export_that_recorded_no_object_is_not_settled_by_its_text(tmp_path: Any, observed: Any) -> None:
    record = _record("CheckpointExport", "e", "ft-1:checkpoint-8", status="SUCCEEDED", observed=observed)
    with SqliteStateStore.open(tmp_path / "state.db") as store:
        store.put(record, event="test")
        stored = store.all()["CheckpointExport/e"]

    class Client(PagedClient):
        def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
            self.lists += 1
            return []

    client = Client([], [], [])
    seen = JobsSeen()
    seen.job_ids = {"ft-1"}
    got = Exports(client, FakeClock(), 1).read_many([stored], seen)  # type: ignore[arg-type]
    assert client.lists == 1 and got["CheckpointExport/e"].phase is Phase.GONE  # asked its job's checkpoints


def test_two_jobs_or_fewer_are_read_one_get_each_and_keyed_by_the_id_asked_for() -> None:
    from reconciler.providers.errors import NotFoundError

    class Client(PagedClient):
        def get_fine_tune(self, job_id: str) -> FineTuneJob:
            self.lists += 1
            if job_id == "ft-gone":
                raise NotFoundError("no such job", provider="dashscope", operation="get_fine_tune")
            return JOBS[1].model_copy(update={"job_id": "ft-1"})

    client = Client([], JOBS, [])
    seen = JobsSeen()
    records = [_record("FineTune", "a", "ft-1"), _record("FineTune", "b", "ft-gone")]
    got = Jobs(client).read_many(records, seen)  # type: ignore[arg-type]
    assert client.lists == 2 and seen.job_ids == {"ft-1"}
    assert got["FineTune/a"] == job_obs(JOBS[1]) and got["FineTune/b"].phase is Phase.GONE
