"""The README is part of the feature: its provider table is generated, its commands are real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_provider_table_is_current():
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "update_readme.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_first_command_installs_and_applies_the_quickstart():
    first = re.search(r"```sh\n(.+?)\n", README).group(1)
    assert first == "pip install -e . && reconciler apply -f manifests/quickstart --auto-approve"


def test_test_command_is_what_ci_runs():
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && pytest -n 2" in README
    # CI runs the same suite under coverage, once: the README shows that line too
    measured = (
        "pip install -e '.[test]' && coverage run -m pytest -n 2 && coverage combine -q && coverage report"
    )
    assert measured in ci and measured.split(" && ", 1)[1] in README


def test_every_command_is_documented_with_an_example():
    names = set(main.commands)
    for name in names:
        assert f"reconciler {name}" in README, name
        assert re.search(rf"^reconciler {re.escape(name)}\b", README, re.M), f"no example line for {name}"
