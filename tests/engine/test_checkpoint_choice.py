"""CheckpointExport.spec.checkpoint: checkpoint-N checked at plan time, latest / latest-validated
resolved after training, recorded in state and shown in the plan with its reason."""

from __future__ import annotations

import json

import pytest

from reconciler.engine.outcomes import Outcome
from reconciler.models.dashscope import DashScopeFineTune
from reconciler.models.faults import FaultConfig
from reconciler.models.plans import ActionType
from reconciler.providers.dashscope.checkpoint_choice import choose
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.render import plan_to_text
from reconciler.sandbox import Sandbox

EXPORT = "CheckpointExport/money-rain-c600"
# quickstart: 12 samples / batch_size 2 = 6 steps per epoch; 150 epochs, eval every 50
QUICKSTART_SAVES = ["checkpoint-300", "checkpoint-600", "checkpoint-900"]


def _env(make_env, fail_previews: int = 0):
    env = make_env()
    env.sandbox = Sandbox(
        clock=env.clock, seed=7, fidelity="documented", faults=FaultConfig(fail_previews=fail_previews)
    )
    return env


def _client(env) -> DashScopeClient:
    return DashScopeClient("http://127.0.0.1", "k", transport=env.sandbox.transport(), clock=env.clock)


def _export(plan):
    return next(a for a in plan.actions if a.address == EXPORT)


@pytest.mark.parametrize(
    ("selector", "fail_previews", "expected"),
    [
        ("latest", 0, "checkpoint-900"),
        ("latest-validated", 0, "checkpoint-900"),
        ("latest-validated", 1, "checkpoint-600"),  # the newest preview failed
        ("latest", 1, "checkpoint-900"),  # latest ignores previews
    ],
)
def test_a_selector_exports_the_checkpoint_it_names_and_records_why(
    make_env, selector, fail_previews, expected
):
    env = _env(make_env, fail_previews)
    env.edit("money-rain.yaml", "checkpoint: checkpoint-600", f"checkpoint: {selector}")
    ws = env.workspace()
    plan = ws.plan()
    before = _export(plan)
    assert before.facts["checkpoint"].startswith(f"{selector}: resolved after training")
    assert f"checkpoint: {before.facts['checkpoint']}\n" in plan_to_text(plan, width=200)  # in full

    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert result.outcomes[EXPORT].outcome is Outcome.SUCCEEDED
    record = ws.records()[EXPORT]
    assert record.outputs["checkpoint"] == expected
    assert record.remote_id.endswith(f":{expected}")
    job_id = ws.records()["FineTune/money-rain"].remote_id
    rows = {c.checkpoint: c for c in _client(env).list_checkpoints(job_id)}
    assert rows[expected].status == "SUCCEEDED"
    assert [n for n, c in rows.items() if c.status == "SUCCEEDED"] == [expected]

    choice = f"{selector} → {expected}: "
    assert record.outputs["checkpoint_choice"].startswith(choice)
    env.workspace().refresh()  # a refresh keeps what the selector chose, and why
    assert env.workspace().records()[EXPORT].outputs["checkpoint_choice"].startswith(choice)
    after = env.workspace().plan()
    assert not after.has_changes
    line = _export(after).facts["checkpoint"]
    assert line.startswith(f"{selector} → {expected}: ")
    if selector == "latest-validated":
        assert line == f"latest-validated → {expected}: newest with a successful validation preview"
    # from the state alone (the planner reads the recorded outputs only when the spec's facts do)
    cached = _export(env.workspace().plan(refresh=False)).facts["checkpoint"]
    assert cached == line


def test_latest_validated_with_no_successful_preview_fails_the_export_only(make_env):
    env = _env(make_env, fail_previews=3)  # every saved checkpoint's preview failed
    env.edit("money-rain.yaml", "checkpoint: checkpoint-600", "checkpoint: latest-validated")
    ws = env.workspace()
    _, result = ws.apply()
    assert result.outcomes[EXPORT].outcome is Outcome.FAILED
    assert "no checkpoint with a successful preview" in str(result.outcomes[EXPORT].message)
    assert result.outcomes["Deployment/money-rain"].outcome is Outcome.SUCCEEDED  # independent branch
    assert EXPORT not in ws.records()


def test_changing_the_selector_re_exports(make_env):
    env = _env(make_env, fail_previews=1)
    env.edit("money-rain.yaml", "checkpoint: checkpoint-600", "checkpoint: latest")
    env.workspace().apply()
    env.edit("money-rain.yaml", "checkpoint: latest", "checkpoint: latest-validated")
    plan = env.workspace().plan()
    action = _export(plan)
    assert action.action is ActionType.REPLACE
    assert action.change_class is not None and action.change_class.value == "re-export"
    assert action.facts["checkpoint"].startswith("latest-validated: resolved after training")
    _, result = env.workspace().apply()
    assert result.ok, result.outcomes
    assert env.workspace().records()[EXPORT].outputs["checkpoint"] == "checkpoint-600"


def test_an_impossible_checkpoint_fails_validation_before_any_request(make_env):
    env = _env(make_env)
    env.edit("money-rain.yaml", "checkpoint: checkpoint-600", "checkpoint: checkpoint-6000")
    from reconciler.loading import load

    result = load([env.root], cwd=env.root)
    errors = [str(d) for d in result.diagnostics if d.severity.value == "error"]
    assert errors == [
        "money-rain.yaml:38:3: CheckpointExport/money-rain-c600: spec.checkpoint: FineTune/money-rain will save "
        "only checkpoint-300, checkpoint-600, checkpoint-900 (12 training samples, batch_size 2, n_epochs 150, "
        "eval_epochs 50, save_total_limit 20), so checkpoint-6000 will never exist: export one of those, or use "
        "latest / latest-validated"
    ]
    assert env.sandbox.request_counts() == {}


def _grid():
    import random

    rng = random.Random(11)  # seeded: the same 40 cases every run
    return [
        (rng.randint(10, 30), rng.randint(1, 60), rng.randint(0, 5), rng.randint(1, 6)) for _ in range(40)
    ]


@pytest.mark.parametrize(("samples", "n_epochs", "eval_extra", "limit"), _grid())
def test_the_plan_time_schedule_is_what_the_sandbox_saves(samples, n_epochs, eval_extra, limit):
    """The model's checkpoint schedule and the emulator's agree for any dataset and hyper-parameters."""
    import math

    from reconciler.sandbox.dashscope.fine_tunes import Job

    eval_epochs = max(1, math.ceil(n_epochs / 10)) + eval_extra
    spec = DashScopeFineTune.model_validate(
        {
            "provider": "p",
            "model": "wan2.5-i2v-preview",
            "training_datasets": ["d"],
            "hyper_parameters": {"n_epochs": n_epochs, "eval_epochs": eval_epochs, "save_total_limit": limit},
        }
    )
    hp = spec.hyper_parameters.model_dump()
    spe = math.ceil(samples / 2)
    job = Job.__new__(Job)
    job.row = {"spec": json.dumps({"hyper_parameters": hp}), "steps_per_epoch": spe, "train_s": 100.0}  # type: ignore[attr-defined]
    job.timeline = type("T", (), {"start": 0.0, "end": 0.0})()  # type: ignore[attr-defined]
    assert [n for n, _, _ in job.saved_checkpoints()] == spec.saved_checkpoints(samples)


def test_choose_reads_steps_not_list_order():
    assert (
        choose("latest", ["checkpoint-40", "checkpoint-160", "checkpoint-20"], []).checkpoint
        == "checkpoint-160"
    )
    previewed = ["checkpoint-160", "checkpoint-20", "checkpoint-40"]  # the seed's string order
    got = choose(
        "latest-validated", ["checkpoint-20", "checkpoint-40", "checkpoint-160", "checkpoint-180"], previewed
    )
    assert got.checkpoint == "checkpoint-160"
    assert got.describe() == "latest-validated → checkpoint-160: newest with a successful validation preview"
    assert choose("latest-validated", ["checkpoint-20"], []).checkpoint is None
