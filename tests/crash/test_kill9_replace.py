"""kill -9 of the real CLI in the middle of a *replace*, then apply to convergence: the crash invariants hold.

Why, beside the deterministic crash points: those kill the engine at request boundaries inside one
forked process. This campaign kills real `reconciler apply` processes with SIGKILL at seeded random
times — between requests, inside a state transaction, while a thread polls — against the
persistent sandbox (`.reconciler/sandbox.db`), exactly as a user's terminal or CI runner would.
`tests/engine/test_kill9.py` does this for create-from-empty; this is the replace after an
`n_epochs` edit, the scenario where a duplicate training costs the most.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crash_harness import MAX_RECOVERY_APPLIES
from crash_invariants import check
from crash_scenarios import REPO, SCENARIOS, SUBJECTS

from reconciler.clock import SYSTEM_CLOCK

pytestmark = pytest.mark.slow


def _cli(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler.cli", *args, "-f", str(root)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["RECONCILER_SANDBOX_TIME_SCALE"] = "20000"  # the 1200-step retrain takes about a second
    env["RECONCILER_SANDBOX_FIDELITY"] = "documented"  # picked up once the sandbox has the mode
    env.pop("RECONCILER_SANDBOX_FAULTS", None)
    env["NO_COLOR"] = "1"
    return env


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cli(root, *args), env=_env(), capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_kill_minus_9_during_a_replace_then_apply_keeps_the_invariants(tmp_path: Path, seed: int):
    root = tmp_path / "quickstart"
    shutil.copytree(REPO / "manifests" / "quickstart", root, ignore=shutil.ignore_patterns(".reconciler"))
    first = _run(root, "apply", "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr
    SUBJECTS["dashscope"].edits["replace"](root)  # n_epochs 150 -> 200: a retrain

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

    log = []
    for _ in range(MAX_RECOVERY_APPLIES):
        done = _run(root, "apply", "--auto-approve")
        plan = _run(root, "plan", "--detailed-exitcode")
        log.append(f"apply exit {done.returncode}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        if plan.returncode == 0:
            break
    assert plan.returncode == 0, "\n".join(log) + "\n" + plan.stdout + plan.stderr

    # the CLI ran on the system clock: look at the sandbox and state at the same time
    problems = check(root, "dashscope", SCENARIOS["replace"], clock=SYSTEM_CLOCK)
    assert problems == [], "\n".join(problems)
