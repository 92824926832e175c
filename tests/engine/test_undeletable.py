"""What a provider has no delete API for is forgotten, never "deleted" (ImgOpen jobs and datasets,
WaveSpeed uploads, DashScope exports).

The adapters say which kinds they cannot delete (`no_delete_api`); the workspace hands that to the
planner as data; the planner plans a forget with the reason; apply makes no provider call for it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.models.plans import ActionType
from reconciler.providers.interface import Phase
from reconciler.render import plan_to_text
from reconciler.state.sqlite import SqliteStateStore
from reconciler.wiring import adapter_classes

EXAMPLES = ["manifests/quickstart", "manifests/examples/wavespeed", "manifests/examples/imgopen"]
EXPORT = "CheckpointExport/money-rain-c600"
NO_EXPORT_DELETE = "forgotten, not deleted: DashScope has no API to delete an exported model"


def _reverse(records: dict) -> list:
    order = ["Sample", "Deployment", "CheckpointExport", "FineTune", "Dataset"]
    return sorted(records.values(), key=lambda r: order.index(r.kind))


@pytest.mark.parametrize("example", EXAMPLES)
def test_what_an_adapter_says_it_cannot_delete_is_what_its_delete_leaves(make_env, example):
    """Conformance, against the sandbox: the capability is the adapter's real behaviour."""
    env = make_env(example)
    ws = env.workspace()
    _, result = ws.apply()
    assert result is not None and result.ok
    adapters = ws.adapters()
    for rec in _reverse(ws.records()):
        adapter = adapters[rec.provider]
        why = adapter.no_delete_api(rec.kind)
        adapter.delete(rec)
        phase = adapter.read(rec).phase
        if why:
            assert phase is not Phase.GONE, f"{rec.address}: says it cannot be deleted, but delete removed it"
        else:
            assert phase in (Phase.GONE, Phase.DELETING), f"{rec.address}: deletable, but still {phase}"


def test_every_adapter_answers_for_every_kind():
    for adapter in adapter_classes().values():
        for kind in ("Dataset", "FineTune", "CheckpointExport", "Deployment", "Nonsense"):
            why = adapter.no_delete_api(kind)
            assert why is None or (isinstance(why, str) and why), (adapter, kind)


@pytest.mark.parametrize("example", EXAMPLES)
def test_destroy_plans_a_forget_for_exactly_what_cannot_be_deleted(make_env, example):
    env = make_env(example)
    ws = env.workspace()
    ws.apply()
    adapters = ws.adapters()
    plan = env.workspace().plan(destroy=True)
    for a in plan.actions:
        why = adapters[a.provider].no_delete_api(a.kind)
        if why:
            assert a.action is ActionType.FORGET and a.reason == f"destroy; forgotten, not deleted: {why}"
        else:
            assert a.action is ActionType.DELETE, a.address
    text = plan_to_text(plan)
    for a in plan.actions:
        if a.action is ActionType.FORGET:
            assert f"~> {a.address}  forget" in text and f"{a.address}  delete" not in text


def test_destroy_makes_no_call_for_a_forgotten_export(make_env):
    env = make_env()
    env.workspace().apply()
    plan = env.workspace().plan(destroy=True)
    assert {a.address: a.reason for a in plan.actions}[EXPORT] == f"destroy; {NO_EXPORT_DELETE}"
    env.sandbox.reset_counts()
    _, result = env.workspace().apply(plan)
    assert result is not None and result.ok
    assert (result.outcomes[EXPORT].action, result.outcomes[EXPORT].outcome) == ("forget", "succeeded")
    assert not [route for route in env.sandbox.request_counts() if "checkpoint" in route or "export" in route]
    assert env.workspace().records() == {}


def test_a_removed_export_is_forgotten(make_env):
    env = make_env()
    env.workspace().apply()
    text = (env.root / "money-rain.yaml").read_text()
    export, rest = text.split("---\napiVersion: reconciler/v1\nkind: CheckpointExport\n", 1)
    env.edit("money-rain.yaml", text, export + "---" + rest.split("---", 1)[1])
    plan = env.workspace().plan()
    by = {a.address: a for a in plan.actions}
    assert by[EXPORT].action is ActionType.FORGET
    assert by[EXPORT].reason == f"removed from the manifests; {NO_EXPORT_DELETE}"


def test_replacing_an_export_says_the_old_one_is_forgotten_not_deleted(make_env):
    env = make_env()
    env.workspace().apply()
    env.edit("money-rain.yaml", "model_name: money-rain-c600", "model_name: money-rain-c600b")
    plan = env.workspace().plan()
    action = next(a for a in plan.actions if a.address == EXPORT)
    assert action.action is ActionType.REPLACE
    text = plan_to_text(plan)
    assert f"old object: {NO_EXPORT_DELETE}" in text
    block = text.split(f"-/+ {EXPORT}", 1)[1].split("\n\n", 1)[0]
    assert "deleted once it is ready" not in block


def test_a_deposed_object_that_cannot_be_deleted_is_forgotten_and_its_record_kept(make_env):
    env = make_env()
    env.workspace().apply()
    with SqliteStateStore.open(env.state_file) as store:
        rec = store.get(EXPORT)
        assert rec is not None
        old = {**rec.to_dict(), "remote_id": "ft-old:checkpoint-600"}
        old.pop("deposed", None)
        store.put(replace(rec, deposed=[old]), event="test")
    plan = env.workspace().plan()
    deposed = [a for a in plan.actions if a.deposed]
    assert [(a.address, a.action, a.deposed) for a in deposed] == [
        (EXPORT, ActionType.FORGET, "ft-old:checkpoint-600")
    ]
    assert deposed[0].reason.endswith(NO_EXPORT_DELETE)
    env.sandbox.reset_counts()
    _, result = env.workspace().apply(plan)
    assert result is not None and result.ok, result.outcomes
    # nothing for the forgotten object (the FineTune it comes from is looked at, as for any change to its export)
    assert not [route for route in env.sandbox.request_counts() if "checkpoint" in route or "export" in route]
    kept = env.workspace().records()[EXPORT]
    assert kept.deposed == [] and kept.remote_id == rec.remote_id
    assert not env.workspace().plan().has_changes


def test_prevent_destroy_still_refuses_a_forget(make_env):
    env = make_env()
    text = (env.root / "money-rain.yaml").read_text()
    env.edit(
        "money-rain.yaml",
        "  model_name: money-rain-c600\n",
        "  model_name: money-rain-c600\nlifecycle:\n  prevent_destroy: true\n",
    )
    assert (env.root / "money-rain.yaml").read_text() != text
    env.workspace().apply()
    plan = env.workspace().plan(destroy=True)
    assert [(e["address"], e["field"]) for e in plan.errors] == [(EXPORT, "lifecycle.prevent_destroy")]
    assert "the plan would forget it" in plan.errors[0]["message"]
