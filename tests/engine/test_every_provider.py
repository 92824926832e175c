"""The same guarantees for every provider's example: import, faults, kill -9 — no duplicates ever.

DashScope has its own, more detailed files; this one runs the WaveSpeed and ImgOpen examples
through the identical checks (issue 5).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.sandbox import Sandbox

# example -> (provider name, the sandbox listing of its training objects, the submit route)
EXAMPLES = {
    "manifests/examples/wavespeed": (
        "wavespeed",
        "wavespeed_predictions",
        "POST /api/v3/wavespeed-ai/{trainer}",
    ),
    "manifests/examples/imgopen": (
        "imgopen",
        "imgopen_tasks",
        "POST /AIGCImgOpenServ/saas/modelTraining/submitTraining/Job",
    ),
}
# how many live objects that listing holds when the example converged: one per resource (the
# WaveSpeed example's two trainings and its two Sample renders are all predictions)
LIVE = {"manifests/examples/wavespeed": 4, "manifests/examples/imgopen": 1}


@pytest.mark.parametrize("example", EXAMPLES)
def test_apply_refresh_import_destroy(make_env, example):
    _, trainings, _ = EXAMPLES[example]
    env = make_env(example)
    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert not env.workspace().plan().has_changes
    env.workspace().refresh()
    assert not env.workspace().plan().has_changes
    before = env.workspace().records()
    env.state_file.unlink()
    ws = env.workspace()
    for address, rec in before.items():
        ws.import_resource(address, rec.remote_id)
    volatile = {"created_at", "updated_at", "observed_at", "observed"}
    after = env.workspace().records()
    for address in before:
        a = {k: v for k, v in before[address].to_dict().items() if k not in volatile}
        b = {k: v for k, v in after[address].to_dict().items() if k not in volatile}
        # the plan's cost estimate and the usage apply priced are apply's records, not the provider's
        a["outputs"] = {k: v for k, v in a["outputs"].items() if k not in ("cost_estimated", "cost_used")}
        if example.endswith("wavespeed") and address.startswith("Dataset/"):
            # WaveSpeed cannot list uploads: when it was uploaded is only known to the run that uploaded it
            a["outputs"] = {k: v for k, v in a["outputs"].items() if k in b["outputs"]}
            assert b["outputs"]["url"] == a["outputs"]["url"]
        assert a == b, address
    assert not env.workspace().plan().has_changes
    assert len(env.live(trainings)) == LIVE[example]
    _, result = env.workspace().apply(destroy=True)
    assert result.ok
    assert env.workspace().records() == {}


@pytest.mark.parametrize("seed", range(1, 6))
@pytest.mark.parametrize("example", EXAMPLES)
def test_apply_converges_through_a_20_percent_fault_rate(make_env, example, seed):
    provider, trainings, _ = EXAMPLES[example]
    env = make_env(example)
    rule = FaultRule(
        match="*",
        rate_429=0.05,
        rate_5xx=0.04,
        rate_timeout=0.04,
        rate_lost_response=0.04,
        rate_late_commit=0.03,
    )
    env.sandbox = Sandbox(
        clock=env.clock, seed=seed, faults=FaultConfig(seed=seed, rules=[rule]), fidelity="documented"
    )
    for _ in range(5):
        _, result = env.workspace().apply()
        if result is not None and result.ok:
            break
    assert result is not None and result.ok, "did not converge in 5 applies"
    assert len(env.live(trainings)) == LIVE[example]  # never a duplicate training or render
    ws = env.workspace()
    ws.wiring.transports[provider] = env.sandbox.transport(faults=FaultConfig())
    assert not ws.plan().has_changes


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_kill_minus_9_then_apply_converges(example: str, example_copy: Callable[..., Path]):
    _, trainings, _ = EXAMPLES[example]
    root = example_copy(example)
    env = dict(
        os.environ,
        RECONCILER_SANDBOX_TIME_SCALE="3000",
        NO_COLOR="1",
        RECONCILER_SANDBOX_FIDELITY="documented",
        RECONCILER_SETTLE_WINDOW="3s",
    )  # the sandbox never commits late here: a short window will do
    env.pop("RECONCILER_SANDBOX_FAULTS", None)
    cmd = [sys.executable, "-m", "reconciler.cli", "apply", "--auto-approve", "-f", str(root)]
    rng = random.Random(example)
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    plan = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "plan", "--detailed-exitcode", "-f", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    sandbox = Sandbox(db_path=root / ".reconciler" / "sandbox.db", fidelity="documented")
    try:
        live = [o for o in sandbox.list_objects(trainings) if not o.get("_deleted")]
    finally:
        sandbox.close()
    assert len(live) == LIVE[example], live
