"""`planning.prepare` (what a plan computes of the manifests alone, done while the refresh child
is still at work) changes no plan, wherever it is stopped: every golden case, planned after no
preparation, after all of it, and after it was stopped at each step."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from test_golden_plans import CASES, HERE, build_plan  # (this folder is on the path: no package)

from reconciler.engine import planning
from reconciler.loading import load
from reconciler.models.resources import ManifestSet
from reconciler.render import plan_to_json


def _prepared(steps: int | None) -> Callable[[ManifestSet], None]:
    def before_planning(manifests: ManifestSet) -> None:
        for _ in itertools.islice(planning.prepare(manifests), steps):
            pass

    return before_planning


@pytest.mark.parametrize("case", CASES)
def test_a_prepared_plan_is_the_plan(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case_dir: Path = HERE / case
    unprepared = plan_to_json(build_plan(case_dir))
    monkeypatch.setattr(planning, "PREPARE_STEP", 1)  # a step a resource: stopped after each one
    resources = len(build_plan(case_dir).actions) + 1
    for steps in [None, *range(resources)]:
        assert plan_to_json(build_plan(case_dir, _prepared(steps))) == unprepared, steps


def _loaded(case: str) -> ManifestSet:
    """A case's manifests, loaded and not planned (a plan computes what `prepare` does)."""
    loaded = load([HERE / case / "manifests"], cwd=HERE / case)
    assert loaded.ok
    return loaded.manifests


def test_prepare_computes_what_planning_reads_of_each_resource() -> None:
    manifests = _loaded("create-chain")
    resources = list(manifests.resources.values())
    assert resources and not any("_effective_spec" in r.__dict__ for r in resources)
    _prepared(None)(manifests)
    for r in resources:
        assert "_effective_spec" in r.__dict__ and "dependency_addresses" in r.__dict__, r.address


def test_prepare_yields_between_steps_of_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its caller checks for the child's answer between steps: steps of PREPARE_STEP resources."""
    manifests = _loaded("create-chain")
    count = len(manifests.resources)
    monkeypatch.setattr(planning, "PREPARE_STEP", 2)
    done = []
    for _ in planning.prepare(manifests):
        done.append(sum("_effective_spec" in r.__dict__ for r in manifests.resources.values()))
    assert count > 2 and done == [*range(2, count + 1, 2), count]  # a step, then what is left
