"""Samples on DashScope: a video from the deployed Wan LoRA (providers.md §1.7), re-rendered when
the deployment serves a new model, and a lost submit that stops instead of being re-sent."""

from __future__ import annotations

import pytest

from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.plans import ActionType
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

SAMPLE = "Sample/money-rain-street"
ROUTE = "POST /api/v1/services/aigc/video-generation/video-synthesis"
MANIFEST = """# yaml-language-server: $schema=../../schemas/reconciler.json
apiVersion: reconciler/v1
kind: Sample
metadata:
  name: money-rain-street
spec:
  provider: dashscope
  deployment: money-rain
  img_url: https://example.com/street.png
  resolution: 720P
"""


@pytest.fixture
def env(make_env):
    env = make_env()
    (env.root / "sample.yaml").write_text(MANIFEST)
    return env


def test_a_sample_renders_through_the_deployed_model(env):
    plan = env.workspace().plan()
    action = next(a for a in plan.actions if a.address == SAMPLE)
    assert action.depends_on == ["Deployment/money-rain"]
    assert action.cost.money is None and "Sample" in action.cost.unknown  # no documented price: unknown
    _, result = env.workspace().apply()
    assert result.ok, result.outcomes
    records = env.workspace().records()
    deployed = records["Deployment/money-rain"].remote_id
    [task] = env.sandbox.list_objects("tasks")
    assert task["body"] == {
        "model": deployed,
        "input": {"img_url": "https://example.com/street.png"},
        "parameters": {"resolution": "720P", "prompt_extend": False},
    }
    sample = records[SAMPLE]
    assert sample.remote_id == task["task_id"] and sample.status == "SUCCEEDED"
    assert sample.outputs["media_type"] == "video" and "Expires=" in sample.outputs["media"]
    assert sample.built_from == {"Deployment/money-rain": deployed}
    assert not env.workspace().plan().has_changes


def test_a_retrain_redeploys_and_renders_again_with_the_new_model(env):
    env.workspace().apply()
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 160")
    by = {a.address: a for a in env.workspace().plan().actions}
    assert by[SAMPLE].action is ActionType.REPLACE and by[SAMPLE].change_class.value == "re-render"
    assert "Deployment/money-rain is replaced" in by[SAMPLE].reason
    _, result = env.workspace().apply()
    assert result.ok, result.outcomes
    records = env.workspace().records()
    tasks = env.sandbox.list_objects("tasks")
    assert len(tasks) == 2 and tasks[-1]["body"]["model"] == records["Deployment/money-rain"].remote_id
    assert not env.workspace().plan().has_changes


def test_a_lost_render_response_stops_with_the_commands_that_settle_it(env):
    env.workspace().apply()
    env.edit("sample.yaml", "resolution: 720P", "resolution: 480P")
    lossy = FaultConfig(rules=[FaultRule(match=ROUTE, rate_lost_response=1.0)])
    wiring = WiringContext(
        env={},
        clock=env.clock,
        sandbox=env.sandbox,
        transports={"dashscope": env.sandbox.transport(faults=lossy)},
    )
    _, result = Workspace([env.root], clock=env.clock, wiring=wiring).apply()
    assert not result.ok
    tasks = env.sandbox.list_objects("tasks")
    assert len(tasks) == 2  # the new render exists on DashScope; it was sent once and never again
    env.clock.advance(600)  # past the settle window: still not guessed
    plan = env.workspace().plan()
    message = " ".join(str(e.get("message")) for e in plan.errors)
    assert f"reconciler import {SAMPLE} TASK_ID" in message and "state resolve" in message
    _, again = env.workspace().apply()
    assert len(env.sandbox.list_objects("tasks")) == 2
    # the operator knows the task id (e.g. from the console): importing it settles the Sample
    env.workspace().import_resource(SAMPLE, tasks[-1]["task_id"])
    _, result = env.workspace().apply()
    assert result.ok, result.outcomes
    assert env.workspace().records()[SAMPLE].remote_id == tasks[-1]["task_id"]
    assert not env.workspace().plan().has_changes
    assert len(env.sandbox.list_objects("tasks")) == 2


def test_wrong_frames_and_resolution_fail_validation(env):
    text = MANIFEST.replace("resolution: 720P", "resolution: 1080P").replace(
        "  img_url: https://example.com/street.png\n",
        "  first_frame_url: https://example.com/a.png\n  last_frame_url: https://example.com/b.png\n",
    )
    (env.root / "sample.yaml").write_text(text)
    from reconciler.loading import load

    errors = [str(d) for d in load([env.root], cwd=env.root).diagnostics]
    assert errors == [
        "sample.yaml:9:3: Sample/money-rain-street: spec.first_frame_url: money-rain serves wan2.5-i2v-preview, "
        "which takes img_url (providers.md §1.7)",
        "sample.yaml:11:3: Sample/money-rain-street: spec.resolution: must be one of 480P, 720P for "
        "wan2.5-i2v-preview (got 1080P)",
    ]


def _require_the_sample(env) -> None:
    env.edit("money-rain.yaml", "  capacity: 1\n", "  capacity: 1\n  requires: [Sample/money-rain-street]\n")


def _redeploy_with_a_new_suffix(env) -> None:
    env.edit("money-rain.yaml", "  capacity: 1\n", "  capacity: 1\n  suffix: v2\n")


def _live_deployments(env) -> list[str]:
    return [d["deployed_model"] for d in env.live("deployments")]


def test_a_required_sample_that_fails_keeps_the_old_deployment(env):
    _require_the_sample(env)
    env.workspace().apply()
    old = env.workspace().records()["Deployment/money-rain"].remote_id
    _redeploy_with_a_new_suffix(env)
    failing = FaultConfig(fail_jobs=1.0)  # every render this apply submits FAILs
    wiring = WiringContext(
        env={},
        clock=env.clock,
        sandbox=env.sandbox,
        transports={"dashscope": env.sandbox.transport(faults=failing)},
    )
    _, result = Workspace([env.root], clock=env.clock, wiring=wiring).apply()
    assert result.outcomes[SAMPLE].outcome.value == "failed"
    new = env.workspace().records()["Deployment/money-rain"].remote_id
    assert new != old and sorted(_live_deployments(env)) == sorted([old, new])  # the old one still serves
    assert [d["remote_id"] for d in env.workspace().records()["Deployment/money-rain"].deposed] == [old]

    # the next apply renders again; only once that succeeded is the old deployment deleted
    plan = env.workspace().plan()
    gone = next(a for a in plan.actions if a.deposed == old)
    assert gone.depends_on == ["Deployment/money-rain", SAMPLE]
    _, result = env.workspace().apply()
    assert result.ok, result.outcomes
    assert _live_deployments(env) == [new]
    assert not env.workspace().plan().has_changes


def test_without_requires_a_failed_sample_does_not_hold_the_old_deployment(env):
    """The gate is what `requires` adds: without it, the old deployment goes as soon as the new
    one is ready, whatever its Samples do (they render again on the next apply)."""
    env.workspace().apply()
    old = env.workspace().records()["Deployment/money-rain"].remote_id
    _redeploy_with_a_new_suffix(env)
    failing = FaultConfig(fail_jobs=1.0)
    wiring = WiringContext(
        env={},
        clock=env.clock,
        sandbox=env.sandbox,
        transports={"dashscope": env.sandbox.transport(faults=failing)},
    )
    _, result = Workspace([env.root], clock=env.clock, wiring=wiring).apply()
    assert result.outcomes[SAMPLE].outcome.value == "failed"
    new = env.workspace().records()["Deployment/money-rain"].remote_id
    assert _live_deployments(env) == [new] and old != new
    by = {a.address: a for a in env.workspace().plan().actions}
    assert by[SAMPLE].action is ActionType.REPLACE  # the failed render is rendered again


def test_requires_must_name_a_sample_of_this_deployment(env):
    env.edit("money-rain.yaml", "  capacity: 1\n", "  capacity: 1\n  requires: [Sample/elsewhere]\n")
    from reconciler.loading import load

    errors = [str(d) for d in load([env.root], cwd=env.root).diagnostics]
    assert len(errors) == 1 and "spec.requires[0]: Sample/elsewhere is not declared" in errors[0]
    assert errors[0].startswith("money-rain.yaml:")
