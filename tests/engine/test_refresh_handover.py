"""A plan hands its records to the refresh, which folds them in place (`take_records`).

Why: the refreshed records used to be made beside the old ones, both sets alive until the fold
ended (~40 MB at 5,000 chains, with the stored observed texts). Handed over, each old record is
freed as its refreshed one replaces it. Without `take_records` the caller's records are untouched.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

from reconciler.engine.refreshing import observe, observe_into, refresh
from reconciler.models.resources import ManifestSet
from reconciler.models.state import ResourceRecord
from reconciler.providers.interface import Observation, Phase


def _record(name: str) -> ResourceRecord:
    return ResourceRecord(
        address=f"Dataset/{name}",
        kind="Dataset",
        name=name,
        provider="p",
        provider_type="fake",
        remote_id=f"file-{name}",
        spec={},
        spec_hash="h",
        status="uploading",
        observed={"id": f"file-{name}", "status": "uploading"},
        outputs={"file_id": f"file-{name}"},
    )


class Adapter:
    """Reads every record as processed; checks, at each fold, which old records are still alive."""

    def __init__(self) -> None:
        self.olds: list[weakref.ref[ResourceRecord]] = []

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        self.olds = [weakref.ref(r) for r in records]
        return {
            r.address: Observation(
                remote_id=r.remote_id or "",
                phase=Phase.READY,
                status="processed",
                object={"id": r.remote_id, "status": "processed"},
                outputs={"file_id": r.remote_id},
            )
            for r in records
        }


def _records() -> dict[str, ResourceRecord]:
    return {f"Dataset/d{i}": _record(f"d{i}") for i in range(5)}


def _refreshed(records: dict[str, ResourceRecord], **kw: Any) -> tuple[Any, Adapter]:
    adapter = Adapter()
    result = refresh(ManifestSet("."), records, {"p": adapter}, dict, now=0.0, discover=False, **kw)  # type: ignore[dict-item]
    return result, adapter


def test_handed_over_records_are_folded_in_place_and_the_old_ones_freed() -> None:
    records = _records()
    order = list(records)
    freed: list[bool] = []
    import reconciler.engine.refreshing as refreshing

    real = refreshing.observe_into

    def spying(recs: dict[str, ResourceRecord], observations: Any, now: float) -> Any:
        out = real(recs, observations, now)
        gc.collect()
        freed.extend(ref() is None for ref in adapter_box[0].olds)  # before the refresh returns
        return out

    adapter_box: list[Adapter] = []
    refreshing.observe_into = spying  # type: ignore[assignment]
    try:
        adapter = Adapter()
        adapter_box.append(adapter)
        result = refresh(
            ManifestSet("."), records, {"p": adapter}, dict, now=0.0, discover=False, take_records=True
        )  # type: ignore[dict-item]
    finally:
        refreshing.observe_into = real  # type: ignore[assignment]
    assert result.records is records and list(records) == order
    assert all(
        r.status == "processed" and r.observed == {"id": r.remote_id, "status": "processed"}
        for r in records.values()
    )
    assert freed == [True] * 5  # every old record gone by the end of the fold


def test_without_handing_over_the_callers_records_are_unchanged_and_the_results_equal() -> None:
    mine = _records()
    before = {a: r.to_dict() for a, r in mine.items()}
    kept, _ = _refreshed(mine)
    assert {a: r.to_dict() for a, r in mine.items()} == before
    taken, _ = _refreshed(_records(), take_records=True)
    assert {a: r.to_dict() for a, r in kept.records.items()} == {
        a: r.to_dict() for a, r in taken.records.items()
    }
    assert kept.observations == taken.observations


def test_observe_and_observe_into_fold_alike() -> None:
    observations = Adapter().read_many(list(_records().values()))
    source = _records()
    copied = observe(source, observations, 5.0)
    assert copied is not source and source["Dataset/d0"].status == "uploading"
    into = _records()
    same = observe_into(into, observations, 5.0)
    assert same is into
    assert [r.to_dict() for r in copied.values()] == [r.to_dict() for r in into.values()]


def test_unfolded_the_observations_are_the_same_and_the_records_untouched() -> None:
    """`fold=False` (a plan's forked child, whose parent folds): the same observations, no fold."""
    import pytest

    folded, _ = _refreshed(_records())
    mine = _records()
    before = {a: r.to_dict() for a, r in mine.items()}
    unfolded, _ = _refreshed(mine, take_records=True, fold=False)
    assert unfolded.observations == folded.observations
    assert {a: r.to_dict() for a, r in unfolded.records.items()} == before  # still as stored
    with pytest.raises(ValueError, match="discover"):
        refresh(ManifestSet("."), _records(), {}, dict, now=0.0, fold=False)
