"""Timeouts that stop the bill (lifecycle.on_timeout) and failures that explain themselves (log tails)."""

from __future__ import annotations

from reconciler.engine.outcomes import Outcome
from reconciler.models.plans import ActionType
from reconciler.render import plan_to_text


def _job(env) -> dict:
    (job,) = env.live("fine_tunes")
    return job


def test_a_training_past_its_timeout_is_canceled_by_default(make_env):
    env = make_env()
    env.edit("money-rain.yaml", "timeouts: {create: 12h}", "timeouts: {create: 5s}")
    _, result = env.workspace().apply()
    assert result is not None
    outcome = result.outcomes["FineTune/money-rain"]
    assert outcome.outcome is Outcome.FAILED
    assert "past lifecycle.timeouts.create" in outcome.message and "was canceled" in outcome.message
    assert _job(env)["status"] in ("CANCELING", "CANCELED")  # it no longer trains, nor bills
    record = env.workspace().records()["FineTune/money-rain"]
    assert record.status in ("CANCELING", "CANCELED")
    # once the cancel has gone through, the next plan sees a canceled job and trains again
    env.clock.advance(3600)
    plan = env.workspace().plan()
    assert next(a for a in plan.actions if a.address == "FineTune/money-rain").action is ActionType.REPLACE


def test_on_timeout_keep_leaves_the_job_running(make_env):
    env = make_env()
    env.edit("money-rain.yaml", "timeouts: {create: 12h}", "timeouts: {create: 5s}\n  on_timeout: keep")
    _, result = env.workspace().apply()
    assert result is not None
    outcome = result.outcomes["FineTune/money-rain"]
    assert outcome.outcome is Outcome.FAILED and "lifecycle.on_timeout: keep" in outcome.message
    assert _job(env)["status"] in ("PENDING", "QUEUING", "RUNNING")


def test_a_failed_job_shows_the_provider_message_and_its_log_tail(make_env):
    env = make_env()
    env.edit(
        "provider.yaml",
        "api_key_env: DASHSCOPE_API_KEY",
        "api_key_env: DASHSCOPE_API_KEY\n  sandbox: {faults: {fail_jobs: 1.0, fail_message: 'CUDA out of memory at step 12'}}",
    )
    _, result = env.workspace().apply()
    assert result is not None
    message = result.outcomes["FineTune/money-rain"].message
    assert "FAILED" in message
    logs = [line for line in message.splitlines() if line.strip().startswith("log: ")]
    assert logs and any("ERROR - CUDA out of memory at step 12" in line for line in logs)
    assert "sandbox-key" not in message  # never the credential
    env.sandbox.reset_counts()
    plan = env.workspace().plan()
    assert (
        env.sandbox.request_counts().get("GET /api/v1/fine-tunes/{job_id}/logs") == 2
    )  # total, then the tail
    ft = next(a for a in plan.actions if a.address == "FineTune/money-rain")
    assert ft.drift and ft.facts["log_tail"][-2].endswith("ERROR - CUDA out of memory at step 12")
    assert "log: " in plan_to_text(plan) and "CUDA out of memory" in plan_to_text(plan)


def test_a_wavespeed_training_past_its_timeout_is_deleted_since_it_cannot_be_canceled(make_env):
    env = make_env("manifests/examples/wavespeed")
    (env.root / "samples.yaml").unlink()  # the training alone (Samples: test_wavespeed_samples.py)
    env.edit(
        "product-shots.yaml", "  lora_rank: 32\n", "  lora_rank: 32\nlifecycle:\n  timeouts: {create: 1s}\n"
    )
    _, result = env.workspace().apply()
    assert result is not None
    message = result.outcomes["FineTune/product-shots"].message
    assert "was canceled (WaveSpeed has no cancel endpoint; the prediction was deleted instead)" in message
    assert env.live("wavespeed_predictions") == []


def test_an_imgopen_training_past_its_timeout_is_only_forgotten_and_says_so(make_env):
    env = make_env("manifests/examples/imgopen")
    env.edit(
        "watercolor-cats.yaml",
        '  learningRate: "0.00001"\n',
        '  learningRate: "0.00001"\nlifecycle:\n  timeouts: {create: 5s}\n',
    )
    _, result = env.workspace().apply()
    assert result is not None
    message = result.outcomes["FineTune/watercolor-cats"].message
    assert "keeps running on ImgOpen; reconciler forgets it" in message
