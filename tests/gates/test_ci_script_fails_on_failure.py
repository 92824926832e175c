"""`.ci/run` must go red when the tests fail.

Under `set -e`, bash does not stop at a failing command inside an `a && b && c` list unless it is the
last one, so `pytest && coverage report` would let failed tests through. Every such list in the
script must end with `|| exit 1`, and a test of the rule itself shows why.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

CI = Path(__file__).resolve().parents[2] / ".ci" / "run"


def test_every_and_list_in_ci_run_exits_on_failure() -> None:
    unguarded = [
        f".ci/run:{n}: {line.strip()}"
        for n, line in enumerate(CI.read_text().splitlines(), 1)
        if "&&" in line and not line.lstrip().startswith("#") and not line.rstrip().endswith("|| exit 1")
    ]
    assert not unguarded, "a failure inside these lists would not stop .ci/run:\n" + "\n".join(unguarded)


def test_the_rule_is_needed_under_set_e() -> None:
    script = "set -euo pipefail; false && true; echo still-running"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert "still-running" in out.stdout  # bash's rule: the && list does not trip set -e
    guarded = subprocess.run(["bash", "-c", script.replace("true;", "true || exit 1;")], capture_output=True)
    assert guarded.returncode == 1
