"""plan/apply --refresh-only: drift alone, counted apart from manifest changes, accepted into state only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.engine.drift_only import accept, make_refresh_only_plan
from reconciler.models.plans import PLAN_FORMAT_VERSION, ActionType
from reconciler.models.state import ResourceRecord, StateMeta
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.interface import Observation, Phase
from reconciler.render import plan_from_json, plan_to_json, plan_to_markdown
from reconciler.workspace import StalePlanError


def client(env) -> DashScopeClient:
    return DashScopeClient("http://127.0.0.1", "test-key", transport=env.sandbox.transport(), clock=env.clock)


def _delete_deployment_outside(env) -> None:
    client(env).delete_deployment(env.live("deployments")[0]["deployed_model"])
    env.clock.advance(600)


def test_refresh_only_shows_drift_alone_and_the_plans_count_causes_apart(make_env):
    env = make_env()
    env.workspace().apply()
    _delete_deployment_outside(env)
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 200")  # a manifest change as well

    normal = env.workspace().plan()
    s = normal.summary()
    assert s.drift_changes == 1 and s.manifest_changes == 2  # retrain, re-export (deployment: drift)
    data = __import__("json").loads(plan_to_json(normal))
    assert data["summary"]["drift_changes"] == 1 and data["summary"]["manifest_changes"] == 2

    drift = env.workspace().plan(refresh_only=True)
    assert drift.mode == "refresh-only"
    assert [(a.address, a.action) for a in drift.actions] == [("Deployment/money-rain", ActionType.FORGET)]
    assert drift.summary().drift_changes == 1 and drift.summary().manifest_changes == 0
    assert "deleted outside reconciler" in drift.actions[0].reason
    md = plan_to_markdown(drift)
    assert md.startswith("<!-- reconciler:plan env=default -->\n### Reconciler plan (refresh-only: drift)")


def test_apply_refresh_only_records_the_drift_and_calls_no_provider_mutation(make_env):
    env = make_env()
    env.workspace().apply()
    _delete_deployment_outside(env)
    env.sandbox.reset_counts()
    plan, result = env.workspace().apply(refresh_only=True)
    assert result is not None and result.ok
    assert all(key.startswith("GET ") for key in env.sandbox.request_counts()), env.sandbox.request_counts()
    assert "Deployment/money-rain" not in env.workspace().records()
    assert not env.workspace().plan(refresh_only=True).has_changes  # accepted: no drift left
    dep = next(a for a in env.workspace().plan().actions if a.address == "Deployment/money-rain")
    assert dep.action is ActionType.CREATE and not dep.drift  # now simply not in state
    _, result = env.workspace().apply()
    assert result is not None and result.ok
    assert not env.workspace().plan().has_changes


def test_a_saved_refresh_only_plan_applies_exactly_and_is_refused_when_stale(make_env):
    env = make_env()
    env.workspace().apply()
    _delete_deployment_outside(env)
    saved = plan_from_json(plan_to_json(env.workspace().plan(refresh_only=True)))
    assert saved.mode == "refresh-only"
    _, result = env.workspace().apply(saved)
    assert result is not None and result.ok
    assert "Deployment/money-rain" not in env.workspace().records()
    with pytest.raises(StalePlanError):
        env.workspace().apply(saved)


def _record(**kw) -> ResourceRecord:
    base = dict(
        address="Deployment/d",
        kind="Deployment",
        name="d",
        provider="p",
        provider_type="dashscope",
        remote_id="dep-1",
        spec={"plan": "mu", "capacity": 1},
        spec_hash="h",
        status="RUNNING",
    )
    base.update(kw)
    return ResourceRecord(**base)  # type: ignore[arg-type]


def _plan(records, observations):
    return make_refresh_only_plan(
        records,
        observations,
        StateMeta(lineage="l", serial=3, schema_version=1),
        diagnostics=[],
        blocked={},
        reconciler_version="0",
        created_at="",
        manifest_paths=[],
        state_path=None,
    )


@pytest.mark.parametrize(
    "obs, kind",
    [
        (Observation("dep-1", Phase.READY, "RUNNING", live_fields={"capacity": 3}), ActionType.UPDATE),
        (Observation("dep-1", Phase.FAILED, "FAILED", message="out of quota"), ActionType.UPDATE),
        (Observation("dep-1", Phase.GONE, "NotFound"), ActionType.FORGET),
    ],
)
def test_accepting_drift_makes_the_next_refresh_only_plan_empty(obs: Observation, kind: ActionType) -> None:
    records = {"Deployment/d": _record()}
    plan = _plan(records, {"Deployment/d": obs})
    assert [a.action for a in plan.actions] == [kind] and plan.actions[0].drift
    writes, forgets = accept(records, plan, now=0.0)
    after = dict(records)
    for rec in writes:
        after[rec.address] = rec
    for address in forgets:
        del after[address]
    observations = {a: obs for a in after}
    assert not _plan(after, observations).has_changes
    if obs.live_fields:
        assert after["Deployment/d"].spec["capacity"] == 3


def test_no_drift_for_progress_or_ignored_fields() -> None:
    records = {"Deployment/d": _record(lifecycle={"ignore_changes": ["capacity"]})}
    moving = Observation("dep-1", Phase.READY, "RUNNING", live_fields={"capacity": 5})
    assert not _plan(records, {"Deployment/d": moving}).has_changes
    pending = {"Deployment/d": replace(records["Deployment/d"], status="PENDING", lifecycle={})}
    ready = Observation("dep-1", Phase.READY, "RUNNING", live_fields={"capacity": 1})
    assert not _plan(pending, {"Deployment/d": ready}).has_changes  # PENDING → RUNNING is progress


def test_a_format_1_0_plan_is_still_read_as_a_normal_plan(make_env):
    import json

    env = make_env()
    data = json.loads(plan_to_json(env.workspace().plan()))
    assert (
        data["format_version"] == PLAN_FORMAT_VERSION == "1.3"
        and "summary" in data
        and data["mode"] == "normal"
    )
    for key in ("mode", "environment", "summary"):
        data.pop(key)
    data["format_version"] = "1.0"
    old = plan_from_json(json.dumps(data))
    assert old.mode == "normal" and old.environment is None
    _, result = env.workspace().apply(old)
    assert result is not None and result.ok
    tampered = json.loads(plan_to_json(env.workspace().plan()))
    tampered["summary"]["drift_changes"] = 99  # derived: recomputed, never trusted
    assert plan_from_json(json.dumps(tampered)).summary().drift_changes == 0
