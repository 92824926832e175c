"""Ctrl-C during apply: the first stops scheduling and exits cleanly; the state stays consistent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_one_interrupt_exits_cleanly_and_the_running_job_is_kept(example_copy: Callable[..., Path]):
    root = example_copy("manifests/quickstart")
    env = dict(os.environ, RECONCILER_SANDBOX_TIME_SCALE="600", NO_COLOR="1")  # training takes ~35 s
    env.pop("RECONCILER_SANDBOX_FAULTS", None)
    cli = [sys.executable, "-m", "reconciler.cli"]
    proc = subprocess.Popen(
        [*cli, "apply", "--auto-approve", "-f", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    state = root / ".reconciler" / "state.db"
    while time.monotonic() < deadline and not state.exists():
        time.sleep(0.1)
    time.sleep(1.5)  # the dataset is uploaded and the job submitted; apply is waiting on training
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10, "the first Ctrl-C must not wait for training"
    assert proc.returncode == 1, out + err
    assert "Interrupt" in err

    plan = subprocess.run(
        [*cli, "plan", "--json", "-f", str(root)], env=env, capture_output=True, text=True, timeout=60
    )
    assert plan.returncode == 0, plan.stderr
    (document,) = [json.loads(x)["plan"] for x in plan.stdout.splitlines() if '"type": "plan"' in x]
    actions = {a["address"]: a["action"] for a in document["actions"]}
    assert actions["Dataset/money-rain-train"] == "no-op"
    assert (
        actions["FineTune/money-rain"] == "wait"
    )  # still training: the next apply waits for it, never replaces it
    assert actions["Deployment/money-rain"] == "create"
