"""Values derived once from a frozen Resource or copied from a record are what a fresh computation gives.

Why: `Resource.dependencies()`/`shared_effective_spec()` are computed once and reused (a plan
asks for them several times per resource), and `ResourceRecord.with_changes` stands in for
`dataclasses.replace` on the refresh path. These must never drift from the slow originals.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import pickle
from collections.abc import Callable

import pytest

from reconciler.engine.planning import _lifecycle_data
from reconciler.loading import load
from reconciler.models.changes import ChangeClass
from reconciler.models.envelope import Lifecycle
from reconciler.models.plans import Action, ActionType, Cost, Plan, PlanSummary
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
    with pytest.raises(TypeError, match=r"no field\(s\) \['stauts'\]"):
        _record().with_changes(stauts="READY")
    with pytest.raises(TypeError, match=r"no field\(s\) \['bogus'\]"):
        _record().with_changes(status="READY", bogus=1)


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
        assert resource.address == f"{resource.kind.value}/{resource.name}"
        assert resource.address is resource.address  # second read: from the cache
        renamed = dataclasses.replace(resource, name=resource.name + "-2")
        assert renamed.address == f"{resource.kind.value}/{resource.name}-2"  # a copy computes its own


def _validated_action() -> Action:
    return Action(
        address="Dataset/d", kind="Dataset", name="d", provider="p", provider_type="dashscope",
        action=ActionType.NOOP, depends_on=["Provider/p"], desired={"b": 1, "a": [1]}, spec_hash="sha256:0",
        content={"digest": "x", "files": {"a.txt": "0" * 64}}, labels={"team": "x"},
        lifecycle={"deletion": "delete"}, reason="why", facts={"status": "READY"},
        cost=Cost(billable=False, money=0.0, note="no new provider work"),
    )  # fmt: skip


def test_trusted_models_dump_as_validated_ones_do() -> None:
    """`_Data.trusted` skips validation: the saved plan's bytes (field order included) must not move,
    whatever order the caller names the fields in."""
    slow = _validated_action()
    values = dict(slow.__dict__)
    fast = Action.trusted(**values)
    backwards = Action.trusted(**dict(reversed(list(values.items()))))
    for made in (fast, backwards):
        assert made == slow
        assert made.model_dump_json() == slow.model_dump_json()
        assert list(made.__dict__) == list(Action.model_fields)
    assert fast.model_fields_set == set(Action.model_fields)
    fast.reason = "changed"  # assignment still works, and leaves the shared fields set as it was
    assert fast.reason == "changed" and backwards.reason == "why"
    assert backwards.model_fields_set == set(Action.model_fields)
    cost = Cost.trusted(**dict(slow.cost.__dict__)) if slow.cost is not None else None
    assert cost == slow.cost


def test_trusted_refuses_a_missing_or_unknown_field() -> None:
    values = dict(_validated_action().__dict__)
    values.pop("reason")
    with pytest.raises(TypeError, match="missing \\['reason'\\]"):
        Action.trusted(**values)
    with pytest.raises(TypeError, match="unknown \\['reasn'\\]"):
        Action.trusted(**values, reasn="x")


def test_summary_counts_what_it_did_attribute_by_attribute() -> None:
    kinds = list(ActionType)
    actions = []
    for i, (kind, drift) in enumerate(itertools.product(kinds, (False, True))):
        a = _validated_action().model_copy(update={"action": kind, "drift": drift})
        a.kind, a.change_class = ("FineTune", ChangeClass.RETRAIN) if i % 3 else ("Dataset", None)
        actions.append(a)
    plan = Plan(reconciler_version="0", created_at="", actions=actions)
    expected = PlanSummary()
    for a in actions:  # the original one-attribute-at-a-time count
        key = "no_op" if a.action is ActionType.NOOP else a.action.value
        setattr(expected, key, getattr(expected, key) + 1)
        if a.is_change and a.change_class is ChangeClass.RETRAIN and a.kind == "FineTune":
            expected.retrains += 1
        expected.drifted += a.drift
        if a.is_change:
            if a.drift:
                expected.drift_changes += 1
            elif a.action is ActionType.WAIT:
                expected.unsettled += 1
            else:
                expected.manifest_changes += 1
    assert plan.summary() == expected


def test_a_deferred_prior_is_the_record_dict_wherever_it_is_used() -> None:
    """`Action.defer_prior`: made when read, compared, copied or written out; field order kept."""
    record = _record(outputs={"k": "v"}, labels={"team": "x"})
    eager = _validated_action()
    eager.prior = record.to_dict()

    def deferred() -> Action:
        a = _validated_action()
        a.defer_prior(record.to_dict)
        assert "prior" not in a.__dict__
        return a

    assert deferred().prior == record.to_dict()
    assert deferred() == eager and eager == deferred()
    assert deferred().model_dump_json() == eager.model_dump_json()
    assert deferred().model_dump() == eager.model_dump()
    plan = Plan(reconciler_version="0", created_at="", actions=[deferred()])
    assert (
        plan.model_dump_json()
        == Plan(reconciler_version="0", created_at="", actions=[eager]).model_dump_json()
    )
    for copied in (deferred().model_copy(), copy.copy(deferred()), copy.deepcopy(deferred())):
        assert copied.prior == record.to_dict() and copied == eager
    assert pickle.loads(pickle.dumps(deferred())) == eager
    assert dict(deferred())["prior"] == record.to_dict()
    assert "prior=" in repr(deferred())
    replaced = deferred()
    replaced.prior = {"other": 1}  # an assignment wins, in the field's place
    assert replaced.prior == {"other": 1}
    assert list(replaced.model_dump()) == list(Action.model_fields)


@pytest.mark.parametrize(
    "values",
    [{}, {"prevent_destroy": True}, {"ignore_changes": ["spec.x"]}, {"timeouts": {"create": "2h"}},
     {"deletion": "retain"}, {"on_timeout": "keep"}, {"deletion": "delete"}],
)  # fmt: skip
def test_an_actions_lifecycle_is_its_resources(values: dict[str, object]) -> None:
    """The planner shares one dict among default lifecycles; any other one is its own dump."""
    lifecycle = Lifecycle.model_validate(values)
    assert _lifecycle_data(lifecycle) == lifecycle.model_dump(mode="json")
    changed = Lifecycle()
    changed.timeouts.create = "1h"  # changed in place after it was made: not the default any more
    assert _lifecycle_data(changed) == changed.model_dump(mode="json")
    changed.ignore_changes.append("spec.y")
    assert _lifecycle_data(changed)["ignore_changes"] == ["spec.y"]


def test_trusted_models_share_their_field_names_between_instances() -> None:
    """`trusted` sets the fields one by one, so CPython keeps each `__dict__` key-sharing (one table
    of names per class, a row of values per instance). A plan holds one `FieldChange` per field of
    every create (33,000 at 1,000 chains); a dict of its own per instance, as handing `values` over
    as `__dict__` made, is about 1.8 times the memory."""
    import tracemalloc

    from reconciler.models.changes import ChangeClass
    from reconciler.models.plans import FieldChange

    values = {
        "path": "a.b",
        "before": None,
        "after": 1,
        "change_class": ChangeClass.RETRAIN,
        "outside": False,
    }

    def own_dict() -> FieldChange:
        made = FieldChange.trusted(**values)
        object.__setattr__(made, "__dict__", dict(values))
        return made

    def traced(make: Callable[[], object]) -> int:
        make()
        tracemalloc.start()
        try:
            kept = [make() for _ in range(2000)]
            size = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert len(kept) == 2000
        return size

    assert FieldChange.trusted(**values) == FieldChange(path="a.b", after=1, change_class=ChangeClass.RETRAIN)
    assert traced(lambda: FieldChange.trusted(**values)) < 0.75 * traced(own_dict)
