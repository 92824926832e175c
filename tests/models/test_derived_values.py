"""Values derived once from a frozen Resource or copied from a record are what a fresh computation gives.

Why: `Resource.dependencies()`/`shared_effective_spec()` are computed once and reused (a plan
asks for them several times per resource), and `ResourceRecord.with_changes` stands in for
`dataclasses.replace` on the refresh path. These must never drift from the slow originals.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from reconciler.loading import load
from reconciler.models.state import ResourceRecord

FIELDS = [f.name for f in dataclasses.fields(ResourceRecord)]
VALUES = {
    "status": "READY",
    "observed": {"nested": {"a": [1, 2]}},
    "outputs": {"finetuned_output": "m-1"},
    "observed_at": "2026-01-01T00:00:00Z",
    "remote_id": None,
    "labels": {},
}


def _record(**extra: object) -> ResourceRecord:
    return ResourceRecord(
        address="FineTune/a", kind="FineTune", name="a", provider="p", provider_type="dashscope",
        remote_id="ft-1", spec={"x": 1}, spec_hash="sha256:0", **extra,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    "names", [c for n in range(len(VALUES) + 1) for c in itertools.combinations(VALUES, n)]
)
def test_with_changes_is_dataclasses_replace(names: tuple[str, ...]) -> None:
    changes = {n: VALUES[n] for n in names}
    rec = _record(outputs={"k": "v"}, labels={"team": "x"})
    fast, slow = rec.with_changes(**changes), dataclasses.replace(rec, **changes)  # type: ignore[arg-type]
    assert fast == slow and type(fast) is ResourceRecord
    assert [getattr(fast, f) for f in FIELDS] == [getattr(slow, f) for f in FIELDS]
    assert rec == _record(outputs={"k": "v"}, labels={"team": "x"})  # the original is untouched


def test_with_changes_refuses_unknown_fields() -> None:
    with pytest.raises(TypeError):
        _record().with_changes(stauts="READY")


@pytest.mark.parametrize(
    "where",
    ["manifests/quickstart", "manifests/examples/wavespeed", "tests/corpus/ds-validation-role-missing"],
)
def test_cached_dependencies_and_spec_match_a_fresh_computation(where: str) -> None:
    result = load([where], check_data=False)  # the last one has a fine-tune with two datasets
    assert result.ok, result.diagnostics
    for resource in result.manifests:
        fresh_deps = list(
            dict.fromkeys(f"{kind.value}/{name}" for _, kind, name in resource.spec.references())
        )
        assert resource.dependencies() == fresh_deps
        assert resource.dependencies() == fresh_deps  # second call: from the cache
        assert resource.shared_effective_spec() == resource.spec.model_dump(mode="json")
        assert resource.shared_effective_spec() is resource.shared_effective_spec()
        mine = resource.effective_spec()  # callers own what effective_spec() returns
        mine["provider"] = "changed"
        assert resource.shared_effective_spec()["provider"] != "changed"
