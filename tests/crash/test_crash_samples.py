"""Kill a run at every mutating request of a Sample's create and re-render, then recover.

A Sample submit is a create with no idempotency key (seeds 001/004), journaled before it is sent;
after a lost response the engine settles it from the prediction history (model and creation
time: the only fields the documented history shows), never by sending it again. Three steps,
each killed before and after every mutating request it makes:

- render:    both FineTunes trained; the Samples are added (two render submits);
- re-render: everything applied; one Sample's seed changes (submit the new render, delete the old);
- retrain:   everything applied; the Wan FineTune's steps change (new training, new render, both old
             objects deleted) — the lineage case: the render must end built from the new LoRA.

After recovery: the plan is empty and nothing is left open (the matrix's shared checks), one live
prediction per FineTune and Sample and no orphan, never two renders submitted for one Sample spec,
and each Sample's live render uses its FineTune's *current* LoRA files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from crash_harness import (
    MODES,
    CrashPoint,
    _engine_run,
    copy_tree,
    read_clock,
    recover,
    run_in_child,
    run_step,
    wait_for_unlock,
)
from crash_invariants import World, _converged, _one_object_per_resource, observe
from crash_scenarios import REPO, Scenario, replace_text

EXAMPLE = REPO / "manifests" / "examples" / "wavespeed"
PROVIDER = "wavespeed"
RENDER_MODELS = ("wavespeed-ai/wan-2.2/t2v-720p-lora-ultra-fast", "wavespeed-ai/qwen-image/edit-plus-lora")

# step -> (renders ever submitted when it converged, trainings ever)
STEPS: dict[str, tuple[int, int]] = {"render": (2, 2), "re-render": (3, 2), "retrain": (3, 3)}
SCENARIO = Scenario("samples", "Sample creates", applied_first=True, edited=True)


def _baseline(root: Path, step: str) -> Path:
    if root.exists():
        shutil.rmtree(root)
    extra = ["samples.yaml"] if step == "render" else []
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler", *extra))
    setup = run_step(root, PROVIDER, destroy=False, wait=True, crash=None)
    assert setup.result and setup.result.get("ok"), setup.error or setup.result
    if step == "render":
        shutil.copy(EXAMPLE / "samples.yaml", root / "samples.yaml")
    elif step == "re-render":
        replace_text(root, "samples.yaml", "seed: 42", "seed: 43")
    else:
        replace_text(root, "product-shots.yaml", "steps: 1000", "steps: 1200")
    return root


def _input(w: World, prediction_id: str) -> dict[str, Any]:
    row = w.sandbox.store.one("SELECT input FROM wavespeed_predictions WHERE id = ?", (prediction_id,))
    return json.loads(row["input"]) if row else {}


def _samples_hold(w: World, step: str) -> list[str]:
    out: list[str] = []
    everything = w.objects("wavespeed_predictions")
    live = [p for p in everything if not p.get("_deleted")]
    resources = w.of_kind("FineTune") + w.of_kind("Sample")
    out += _one_object_per_resource(w, "wavespeed_predictions", live, "id", resources)
    renders = [p for p in everything if p["model"] in RENDER_MODELS]
    trainings = [p for p in everything if p["model"] not in RENDER_MODELS]
    want_renders, want_trainings = STEPS[step]
    if len(renders) != want_renders:
        out.append(f"{len(renders)} renders submitted ever, the step needs {want_renders}")
    if len(trainings) != want_trainings:
        out.append(f"{len(trainings)} trainings submitted ever, the step needs {want_trainings}")
    seen: dict[str, str] = {}
    for p in renders:
        key = json.dumps([p["model"], _input(w, p["id"])], sort_keys=True)
        if key in seen:
            out.append(f"render submitted twice for one spec: {seen[key]} and {p['id']}")
        seen[key] = p["id"]
    by_id = {p["id"]: p for p in live}
    for sample in w.of_kind("Sample"):
        fine_tune = w.record("FineTune", str(sample.spec.get("fine_tune")))
        p = by_id.get(sample.remote_id or "")
        if fine_tune is None or p is None:
            continue
        if sample.built_from != {fine_tune.address: fine_tune.remote_id}:
            out.append(
                f"{sample.address}: built_from {sample.built_from}, the FineTune is {fine_tune.remote_id}"
            )
        given = _input(w, p["id"])
        used = {
            item["path"]
            for key in ("loras", "high_noise_loras", "low_noise_loras")
            for item in given.get(key, [])
        }
        current = {
            v for k, v in fine_tune.outputs.items() if k in ("lora", "high_noise_lora", "low_noise_lora")
        }
        if used != current:
            out.append(
                f"{sample.address}: render {p['id']} uses LoRAs {sorted(used)}, the FineTune's are {sorted(current)}"
            )
        if p["status"] != "completed":
            out.append(f"{sample.address}: render {p['id']} is {p['status']}, not settled")
    return out


def _trial(baseline: Path, work: Path, step: str, crash: CrashPoint | None) -> tuple[list[str], list[str]]:
    root = copy_tree(baseline, work)
    problems: list[str] = []
    ran = run_step(root, PROVIDER, destroy=False, wait=True, crash=crash)
    wait_for_unlock(root)
    made = list(ran.trace.get("mutating") or [])
    if crash is not None and not ran.crashed:
        problems.append(f"harness: crash point not reached; the step made {made}")
    elif ran.error:
        problems.append(f"the step raised: {ran.error.strip().splitlines()[-1]}")
    rec = recover(root, PROVIDER, destroy=False)
    if rec.error:
        problems.append(f"recovery raised: {rec.error.strip().splitlines()[-1]}")
    elif rec.result and not rec.result.get("converged"):
        problems.append(f"not converged: {rec.result.get('applies')}")
    unclassified = sorted(set(ran.trace.get("unclassified") or []) | set(rec.trace.get("unclassified") or []))
    if unclassified:
        problems.append(f"harness: unclassified requests {unclassified}")
    world = observe(root, PROVIDER, SCENARIO)
    try:
        problems += _converged(world) + _samples_hold(world, step)
    finally:
        world.sandbox.close()
    return problems, made


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("crash-samples")
    return {step: _baseline(base / step / "baseline", step) for step in STEPS}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("mode", MODES)
def test_every_sample_crash_point_recovers(baselines: dict[str, Path], tmp_path: Path, step: str, mode: str):
    problems, made = _trial(baselines[step], tmp_path / "control", step, None)
    assert not problems, problems
    assert any(m.startswith("POST /api/v3/wavespeed-ai/{family}/{model}#") for m in made), (
        made
    )  # a render submit
    failures = []
    for i, point in enumerate(made, 1):
        crash = CrashPoint(point, mode)  # type: ignore[arg-type]
        found, _ = _trial(baselines[step], tmp_path / f"{mode}-{i:02d}", step, crash)
        print(f"[crash] samples/{step}/{crash}: {found or 'ok'}")
        if found:
            failures.append(f"{crash}: {found}")
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- DashScope
DS_SAMPLE = "Sample/money-rain-street"
DS_SAMPLE_YAML = """# yaml-language-server: $schema=../../schemas/reconciler.json
apiVersion: reconciler/v1
kind: Sample
metadata:
  name: money-rain-street
spec:
  provider: dashscope
  deployment: money-rain
  img_url: https://example.com/street.png
"""


@pytest.fixture(scope="module")
def dashscope_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash-samples-ds") / "baseline"
    shutil.copytree(REPO / "manifests" / "quickstart", root, ignore=shutil.ignore_patterns(".reconciler"))
    setup = run_step(root, "dashscope", destroy=False, wait=True, crash=None)
    assert setup.result and setup.result.get("ok"), setup.error or setup.result
    (root / "sample.yaml").write_text(DS_SAMPLE_YAML)
    return root


def _tasks(root: Path) -> list[dict[str, Any]]:
    world = observe(root, "dashscope", SCENARIO)
    try:
        return world.objects("tasks")
    finally:
        world.sandbox.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_dashscope_render_killed_at_its_submit_is_never_sent_twice(
    dashscope_baseline: Path, tmp_path: Path, mode: str
):
    """Killed before or after the submit reached DashScope, the journal row says "sent, outcome
    unknown", and no documented look-up can settle it (no task list, no id of ours). So recovery
    stops that Sample with the commands that settle it and sends nothing more. The operator then
    imports the task (after: it exists) or resolves it absent (before: it never arrived), and the
    next apply converges with exactly one render."""
    point = "POST /api/v1/services/aigc/{kind}/video-synthesis#1"
    root = copy_tree(dashscope_baseline, tmp_path / mode)
    ran = run_step(root, "dashscope", destroy=False, wait=True, crash=CrashPoint(point, mode))  # type: ignore[arg-type]
    assert ran.crashed, ran.trace
    wait_for_unlock(root)
    rec = recover(root, "dashscope", destroy=False)
    assert not rec.error, rec.error
    assert rec.result and not rec.result.get("converged")
    assert rec.trace.get("mutating") == []  # recovery sent nothing
    tasks = _tasks(root)
    assert len(tasks) == (1 if mode == "after" else 0)
    last = (rec.result.get("applies") or [{}])[-1]
    errors = " ".join(str(e) for e in last.get("plan_errors") or [])
    assert f"reconciler import {DS_SAMPLE} TASK_ID" in errors and "state resolve" in errors, last

    def settle(make: Any, clock: Any) -> dict[str, Any]:  # what the operator does
        if tasks:
            make().import_resource(DS_SAMPLE, tasks[0]["task_id"])
        else:
            make().state_resolve_absent(DS_SAMPLE)
        _, result = make().apply()
        return {"ok": result.ok, "changes": make().plan().has_changes}

    done = run_in_child(root, lambda: _engine_run(root, "dashscope", None, read_clock(root) + 2.0, settle))
    assert done.result == {"ok": True, "changes": False}, done.error or done.result
    assert len(_tasks(root)) == 1
