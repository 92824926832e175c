"""Shortcuts of a no-change plan's per-resource path give what the plain computation gives.

Each test names the shortcut it guards: the planner's lifecycle dump (once per Lifecycle object
in a plan), `Action.__setattr__` writing a field directly, the state read sharing the decoded
labels and lifecycle of identical texts, hints skipping texts that suggest no command, and the
round-based topological sort.
"""

from __future__ import annotations

import dataclasses
import graphlib

import pytest

import reconciler.cli.hints as hints
from reconciler.engine.planning import PlanInputs, make_plan
from reconciler.loading import load
from reconciler.models.envelope import Lifecycle
from reconciler.models.plans import Action, ActionType, Cost
from reconciler.models.resources import sorted_rounds
from reconciler.models.state import ResourceRecord, StateMeta
from reconciler.state.sqlite import SqliteStateStore


def test_each_action_has_its_own_resources_lifecycle() -> None:
    """The planner dumps each Lifecycle object once a plan (the loader shares the default one):
    resources sharing an object share its data, any other object is dumped for itself."""
    result = load(["manifests/quickstart"], check_data=False)
    assert result.ok, result.diagnostics
    manifests = result.manifests
    custom = Lifecycle.model_validate({"prevent_destroy": True, "ignore_changes": ["spec.x"]})
    other = Lifecycle.model_validate({"deletion": "retain"})
    chosen = [custom, custom, other, Lifecycle()]
    addresses = sorted(manifests.resources)
    assert len(addresses) >= len(chosen)
    for address, lifecycle in zip(addresses, chosen, strict=False):
        manifests.resources[address] = dataclasses.replace(manifests.resources[address], lifecycle=lifecycle)
    plan = make_plan(PlanInputs(manifests=manifests, records={}, meta=StateMeta("", 0, 0), refreshed=False))
    by_address = {a.address: a for a in plan.actions}
    for address, resource in manifests.resources.items():
        assert by_address[address].lifecycle == resource.lifecycle.model_dump(mode="json"), address


def test_setting_a_field_is_what_pydantic_does() -> None:
    """`Action.__setattr__` writes a field straight into `__dict__` (and its fields set)."""
    validated = Action(
        address="Dataset/d", kind="Dataset", name="d", provider="p", provider_type="dashscope",
        action=ActionType.NOOP, reason="why",
    )  # fmt: skip
    validated.reason = "changed"
    validated.cost = Cost(note="n")
    assert validated.reason == "changed" and validated.model_fields_set >= {"reason", "cost"}
    again = Action(
        address="Dataset/d", kind="Dataset", name="d", provider="p", provider_type="dashscope",
        action=ActionType.NOOP, reason="changed", cost=Cost(note="n"),
    )  # fmt: skip
    assert validated == again and validated.model_dump_json() == again.model_dump_json()
    # a deferred prior stays deferred while other fields are set, then is made in its place
    deferred = Action.trusted(**{**again.__dict__})
    deferred.defer_prior(lambda: {"made": 1})
    deferred.reason = "later"
    assert "prior" not in deferred.__dict__
    assert deferred.prior == {"made": 1} and list(deferred.model_dump()) == list(Action.model_fields)
    with pytest.raises(ValueError):
        deferred.not_a_field = 1  # type: ignore[attr-defined]  # refused, as pydantic refuses it


def _record(name: str, labels: dict[str, str], lifecycle: dict[str, object]) -> ResourceRecord:
    return ResourceRecord(
        address=f"Dataset/{name}", kind="Dataset", name=name, provider="p", provider_type="dashscope",
        remote_id=f"file-{name}", spec={"x": name}, spec_hash="sha256:0", status="READY",
        labels=labels, lifecycle=lifecycle,
    )  # fmt: skip


def test_state_rows_share_only_identical_labels_and_lifecycles() -> None:
    store = SqliteStateStore.in_memory()
    written = [
        _record("a", {"team": "x"}, {"deletion": "delete"}),
        _record("b", {"team": "x"}, {"deletion": "delete"}),
        _record("c", {"team": "y"}, {"deletion": "retain"}),
        _record("d", {}, {"deletion": "retain", "prevent_destroy": True}),
    ]
    store.put_many(written, event="test")
    read = store.all()
    stamps = ("created_at", "updated_at")
    for record in written:
        got = read[record.address].to_dict()
        assert {k: v for k, v in got.items() if k not in stamps} == {
            k: v for k, v in record.to_dict().items() if k not in stamps
        }
        assert read[record.address].labels == record.labels
        assert read[record.address].lifecycle == record.lifecycle
        assert read[record.address] == store.get(record.address)
    assert read["Dataset/a"].kind == "Dataset" and read["Dataset/a"].status == "READY"


def test_a_text_without_a_command_is_left_alone_without_asking_for_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_: object) -> list[str]:
        raise AssertionError("invocation_flags asked for a text that suggests no command")

    monkeypatch.setattr(hints, "invocation_flags", refuse)
    assert hints.complete("not in state (refresh skipped)") == "not in state (refresh skipped)"
    assert hints.complete("") == ""


def test_rounds_place_predecessors_that_are_not_keys_and_refuse_self_loops() -> None:
    assert sorted_rounds({"a": {"x"}, "b": set()}, key=str) == ["b", "x", "a"]
    assert sorted_rounds({"a": ["x", "x"]}, key=str) == ["x", "a"]  # named twice, counted once
    with pytest.raises(graphlib.CycleError):
        sorted_rounds({"a": {"a"}}, key=str)


def test_a_planned_plan_is_what_validating_its_fields_makes() -> None:
    """`make_plan` builds the `Plan` with `trusted` (every field given, nothing validated): it must
    equal, and dump the same bytes as, the plan validation makes from the same arguments (the
    defaults it fills in included), and its summary and cost total the validated ones."""
    from reconciler.models.costs import CostTotal
    from reconciler.models.plans import Plan, PlanSummary

    result = load(["manifests/quickstart"], check_data=False)
    assert result.ok, result.diagnostics
    inputs = PlanInputs(
        manifests=result.manifests, records={}, meta=StateMeta("lin", 7, 0), refreshed=False,
        targets=frozenset(sorted(result.manifests.resources)[:2]), manifest_paths=["m"], state_path="s",
        reconciler_version="9", created_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    plan = make_plan(inputs)
    given = {k: v for k, v in plan.__dict__.items() if k not in ("format_version", "mode", "environment")}
    validated = Plan(**given)
    assert plan == validated and plan.model_dump_json() == validated.model_dump_json()
    assert list(plan.__dict__) == list(Plan.model_fields)
    assert plan.summary() == PlanSummary(**plan.summary().__dict__)
    assert plan.summary().model_dump_json() == PlanSummary(**plan.summary().__dict__).model_dump_json()
    assert plan.cost_total is not None
    total = CostTotal(**plan.cost_total.__dict__)
    assert plan.cost_total == total and plan.cost_total.model_dump_json() == total.model_dump_json()
    assert CostTotal.model_construct() == CostTotal()  # add_up's start


def test_the_no_new_work_template_is_the_validated_cost() -> None:
    from reconciler.engine.costing import _NO_NEW_WORK, _no_new_work

    validated = Cost(billable=False, money=0.0, note="no new provider work")
    assert validated == _NO_NEW_WORK and _NO_NEW_WORK.model_fields_set == validated.model_fields_set
    assert _no_new_work().model_dump_json() == validated.model_dump_json()


def test_a_base_action_is_the_validated_action_in_declaration_order() -> None:
    """`_base_action` copies a template of every field (`_BASE_ACTION`) and hands the dict to
    `Action._trusted_in_order`, which checks nothing: the template must be in declaration order
    (the serializer writes `__dict__`'s order), each action must equal and dump the bytes of the
    validated action, and its lists and dicts must be its own (the planner appends to them)."""
    from reconciler.engine.planning import _BASE_ACTION

    assert tuple(_BASE_ACTION) == tuple(Action.model_fields)
    result = load(["manifests/quickstart"], check_data=False)
    assert result.ok, result.diagnostics
    plan = make_plan(
        PlanInputs(manifests=result.manifests, records={}, meta=StateMeta("", 0, 0), refreshed=False)
    )
    for action in plan.actions:
        assert list(action.__dict__) == list(Action.model_fields), action.address
        validated = Action(**action.__dict__)
        assert action == validated and action.model_dump_json() == validated.model_dump_json()
    first, second = plan.actions[0], plan.actions[1]
    for name in ("gated_by", "changes", "warnings", "facts"):
        assert getattr(first, name) is not getattr(second, name), name
    assert all(v is None or not isinstance(v, list | dict) for v in _BASE_ACTION.values())
