"""kill -9 of `reconciler apply` at random points, then apply again: converges, zero duplicates.

The real CLI runs in a subprocess against the persistent sandbox (`.reconciler/sandbox.db`)
with a fast time scale, so the kill lands before, during and after provider calls.
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

from reconciler.sandbox import Sandbox

pytestmark = pytest.mark.slow


def _cli(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler.cli", *args, "-f", str(root)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["RECONCILER_SANDBOX_TIME_SCALE"] = "20000"  # the 900-step job takes about a second
    env.pop("RECONCILER_SANDBOX_FAULTS", None)
    env["RECONCILER_SANDBOX_FIDELITY"] = "documented"
    env["RECONCILER_SETTLE_WINDOW"] = "3s"  # the sandbox never commits late here: a short window will do
    env["NO_COLOR"] = "1"
    return env


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_kill_minus_9_then_apply_converges_without_duplicates(seed: int, example_copy: Callable[..., Path]):
    root = example_copy("manifests/quickstart")
    rng = random.Random(seed)
    for _ in range(3):
        proc = subprocess.Popen(
            _cli(root, "apply", "--auto-approve"),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run(
        _cli(root, "apply", "--auto-approve"), env=_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run(
        _cli(root, "plan", "--detailed-exitcode"), env=_env(), capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr

    sandbox = Sandbox(db_path=root / ".reconciler" / "sandbox.db", fidelity="documented")
    try:
        live = {
            k: [o for o in sandbox.list_objects(k) if not o.get("_deleted")]
            for k in ("files", "fine_tunes", "deployments")
        }
        ever = sandbox.list_objects("fine_tunes")  # deleted ones included
    finally:
        sandbox.close()
    assert len(live["files"]) == 1, live["files"]
    assert len(live["fine_tunes"]) == 1, live["fine_tunes"]
    assert len(live["deployments"]) == 1, live["deployments"]
    # every training job ever created is the one that lives: none was duplicated and deleted. (Counted
    # as jobs, not requests: the in-process sandbox dies with the CLI, so a killed request may be
    # counted although its transaction never committed.)
    assert [j["job_id"] for j in ever] == [j["job_id"] for j in live["fine_tunes"]]
