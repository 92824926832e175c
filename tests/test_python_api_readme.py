"""README "Python API": its example script passes `mypy --strict` and runs against the sandbox.

A user's script sees real types, not the `Any` a lazy `__getattr__` alone would give: a script that
misuses them fails the same type check (so the first check cannot pass by accident).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
# the library is checked as an installed package is: its own errors are not the script's (its own
# gate is `mypy` on the package in .ci/run)
MYPY_CONFIG = (
    "[mypy]\nstrict = True\nplugins = pydantic.mypy\n\n[mypy-reconciler.*]\nfollow_imports = silent\n"
)


def example() -> str:
    section = README.split("## Python API", 1)[1]
    found = re.search(r"```python\n(.+?)```", section, re.S)
    assert found, "README 'Python API' has no python example"
    return found.group(1)


def mypy(script: Path) -> subprocess.CompletedProcess[str]:
    config = script.parent / "mypy.ini"
    config.write_text(MYPY_CONFIG)
    # an editable install is an import hook mypy cannot follow: point it at the checkout, as a
    # normal install (site-packages, with py.typed) would be found
    env = dict(os.environ, MYPYPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-incremental", str(script)],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_readme_script_passes_mypy_strict_and_a_misuse_does_not(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(example())
    checked = mypy(script)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    misuse = tmp_path / "misuse.py"
    misuse.write_text(
        "from reconciler import ResourceProgress, Workspace\n"
        "steps: int = Workspace(['m']).plan()\n"
        "def on(event: ResourceProgress) -> str:\n    return event.elapsed\n"
    )
    refused = mypy(misuse)
    assert refused.returncode == 1
    assert 'incompatible type "Plan"' in refused.stdout or '"Plan", variable has type "int"' in refused.stdout
    assert 'Incompatible return value type (got "float", expected "str")' in refused.stdout


def test_the_readme_script_runs_against_the_sandbox(
    example_copy: Callable[..., Path], tmp_path: Path
) -> None:
    root = example_copy("manifests/quickstart")
    script = tmp_path / "example.py"
    script.write_text(example())
    env = dict(os.environ, RECONCILER_SANDBOX_TIME_SCALE="200000")
    env.pop("RECONCILER_SANDBOX_FAULTS", None)
    done = subprocess.run(
        [sys.executable, str(script), str(root)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "+ FineTune/money-rain: not in state — 900 training steps" in out
    assert "4 to create, 0 fine-tune(s) to retrain" in out
    assert "FineTune/money-rain: create started" in out
    assert re.search(r"FineTune/money-rain: ft-\S+ RUNNING", out)
    assert re.search(r"Deployment/money-rain: succeeded \(wan2\.5-i2v-preview-ft-\S+\)", out)
    assert re.search(r"^Deployment/money-rain \S+ wan2\.5-i2v-preview-ft-\S+$", out, re.M)  # outputs
    assert re.search(r"Z Deployment/money-rain (created|status|settled)", out)  # the state's events
