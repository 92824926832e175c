"""The crash harness and the invariant checker, tested on their own.

Why: a crash suite that passes is only worth something if a kill "before" really never reaches
the provider, a kill "after" really commits, every request is classified as the docs say, and the
invariant checker really flags a duplicate, an orphan and a stale dependent. These tests pin that
down, independently of whether today's engine survives the crashes.
"""

from __future__ import annotations

from crash_harness import (
    CRASH_EXIT,
    START,
    CrashPoint,
    copy_tree,
    open_sandbox,
    read_clock,
    run_step,
    write_clock,
)
from crash_invariants import check
from crash_routes import classify
from crash_scenarios import SCENARIOS

from reconciler.clock import FakeClock
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.dashscope.types import FineTuneCreate


def test_routes_are_classified_as_the_provider_docs_say():
    assert classify(
        "dashscope", "GET", "/api/v1/fine-tunes/ft-1/export/checkpoint-600"
    ).mutating  # GET, side effect
    assert not classify("dashscope", "GET", "/api/v1/fine-tunes/ft-1/checkpoints").mutating
    assert classify("dashscope", "DELETE", "/api/v1/deployments/m").mutating
    assert classify("dashscope", "PUT", "/api/v1/deployments/m/scale").mutating
    assert not classify("wavespeed", "POST", "/api/v3/predictions").mutating  # the history: a POST that reads
    assert classify("wavespeed", "POST", "/api/v3/predictions/delete").mutating
    assert (
        classify("wavespeed", "POST", "/api/v3/wavespeed-ai/wan-2.2-image-lora-trainer").label
        == "POST /api/v3/wavespeed-ai/{trainer}"
    )
    assert classify("wavespeed", "PUT", "/sandbox-files/wavespeed/uploads/abc").mutating
    assert classify("imgopen", "POST", "/AIGCImgOpenServ/saas/modelTraining/submitTraining/Job").mutating
    assert not classify("imgopen", "POST", "/AIGCImgOpenServ/saas/modelTraining/queryTrainingResult").mutating
    unknown = classify("dashscope", "POST", "/api/v1/something-new")
    assert not unknown.known and not unknown.mutating


def _jobs_and_requests(root):
    sandbox = open_sandbox(root, FakeClock(read_clock(root)))
    try:
        return len(sandbox.list_objects("fine_tunes")), sandbox.request_counts().get(
            "POST /api/v1/fine-tunes", 0
        )
    finally:
        sandbox.close()


def test_a_kill_before_never_reaches_the_provider_and_a_kill_after_commits(campaign, tmp_path):
    baseline = campaign.baseline("dashscope", "create")
    point = "POST /api/v1/fine-tunes#1"

    before = copy_tree(baseline, tmp_path / "before")
    out = run_step(before, "dashscope", destroy=False, wait=True, crash=CrashPoint(point, "before"))
    assert out.exit_code == CRASH_EXIT and out.result is None and out.error is None
    assert out.trace["crashed"] and out.trace["mutating"][-1] == point
    assert _jobs_and_requests(before) == (0, 0)

    after = copy_tree(baseline, tmp_path / "after")
    out = run_step(after, "dashscope", destroy=False, wait=True, crash=CrashPoint(point, "after"))
    assert out.exit_code == CRASH_EXIT and out.trace["mutating"][-1] == point
    assert _jobs_and_requests(after) == (1, 1)

    late = copy_tree(baseline, tmp_path / "late")  # the deployment comes after waiting for the training
    out = run_step(
        late, "dashscope", destroy=False, wait=True, crash=CrashPoint("POST /api/v1/deployments#1", "after")
    )
    assert out.exit_code == CRASH_EXIT
    assert read_clock(late) > START + 10  # the child's fake time carried over to the parent


def test_the_checker_flags_a_duplicate_an_orphan_and_a_stale_plan(campaign, tmp_path):
    # "destroy"'s baseline is the quickstart applied once: a converged world
    root = copy_tree(campaign.baseline("dashscope", "destroy"), tmp_path / "world")
    assert check(root, "dashscope", SCENARIOS["create"]) == []

    clock = FakeClock(read_clock(root))
    sandbox = open_sandbox(root, clock)
    client = DashScopeClient("http://127.0.0.1", "k", transport=sandbox.transport(), clock=clock)
    try:
        job = sandbox.list_objects("fine_tunes")[0]
        twin = client.create_fine_tune(
            FineTuneCreate(
                model=job["model"],
                training_file_ids=job["training_file_ids"],
                training_type="efficient_sft",
                hyper_parameters={
                    k: job["hyper_parameters"][k]
                    for k in ("n_epochs", "learning_rate", "lora_rank", "lora_alpha")
                },
            )
        )
        client.delete_deployment(sandbox.list_objects("deployments")[0]["deployed_model"])
        clock.advance(600)
    finally:
        client.close()
        sandbox.close()
    write_clock(root, clock.now())

    problems = "\n".join(check(root, "dashscope", SCENARIOS["create"]))
    assert f"orphan fine_tunes {twin.job_id}" in problems
    assert "training submitted twice: 2 fine-tune jobs" in problems
    assert "2 fine-tune jobs created ever" in problems
    assert "plan not empty: Deployment/money-rain" in problems
    assert "Deployment/money-rain: its deployments" in problems and "is not live" in problems
