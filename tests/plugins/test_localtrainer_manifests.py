"""The local trainer's own kinds and spec models work from YAML, through the real CLI.

Its manifest (`manifests/local.yaml`) names `type: localtrainer`, which no line of core knows:
with the plugin's distribution on PYTHONPATH it validates, plans and applies in a subprocess, as
for a user who pip-installed the plugin; without it, the same file is a clear file:line error
that lists the installed types. `reconciler schema --check` stays the same either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SITE = HERE / "site"
REPO = HERE.parents[1]


def cli(cwd: Path, *args: str, plugin: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if plugin:
        env["PYTHONPATH"] = str(SITE)
    env.pop("LOCAL_TRAINER_KEY", None)  # the sandbox needs no key
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path, example_copy: Callable[..., Path]) -> Path:
    example_copy(HERE / "manifests", "m")  # without a .reconciler/ a README run left there
    return tmp_path


def test_a_plugin_provider_validates_plans_and_applies_from_yaml(project: Path) -> None:
    done = cli(project, "validate", "-f", "m")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 provider, 2 resources valid" in done.stdout

    plan = cli(project, "plan", "-f", "m")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "+ FineTune/faces-lora  create [retrain]" in plan.stdout
    assert "+ hyper_parameters.learning_rate = 0.002" in plan.stdout  # read through its spec model
    assert "Plan: 2 to create (1 training job)" in plan.stdout

    apply = cli(project, "apply", "-f", "m", "--auto-approve")
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert "Apply complete: 2 succeeded, 0 failed" in apply.stdout
    assert "FineTune/faces-lora: job-" in apply.stdout and " done " in apply.stdout

    again = cli(project, "plan", "-f", "m", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout

    # an edit to a field of the plugin's own hyper-parameter model is a retrain
    path = project / "m" / "local.yaml"
    path.write_text(path.read_text().replace("epochs: 4", "epochs: 5"))
    changed = cli(project, "plan", "-f", "m", "--detailed-exitcode")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "-/+ FineTune/faces-lora  replace [retrain]" in changed.stdout
    assert "~ hyper_parameters.epochs: 4 → 5  [retrain]" in changed.stdout


def test_the_plugins_spec_models_check_its_fields(project: Path) -> None:
    path = project / "m" / "local.yaml"
    path.write_text(path.read_text().replace("epochs: 4", "epochs: 0"))
    done = cli(project, "validate", "-f", "m")
    assert done.returncode == 1
    assert "local.yaml:34:" in done.stdout + done.stderr
    assert "FineTune/faces-lora: spec.hyper_parameters.epochs" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_plugin_the_type_is_a_clear_error_listing_the_installed_types(project: Path) -> None:
    done = cli(project, "validate", "-f", "m", plugin=False)
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert (
        "local.yaml:9:3: Provider/local: spec.type: unknown provider type 'localtrainer'; "
        "one of: dashscope, imgopen, wavespeed"
    ) in out
    assert "Traceback" not in out


def test_schema_check_does_not_depend_on_the_plugins_on_the_path(tmp_path: Path) -> None:
    done = cli(REPO, "schema", "--check")
    assert done.returncode == 0, done.stderr
    # asked for, the installed plugin's kinds are described too
    out = tmp_path / "schemas"
    wrote = cli(REPO, "schema", "--all-plugins", "--out", str(out))
    assert wrote.returncode == 0, wrote.stderr
    provider = (out / "provider.json").read_text()
    assert "LocalTrainerProvider" in provider and '"localtrainer"' in provider
    assert "LocalTrainerFineTune" in (out / "finetune.json").read_text()
    assert "LocalTrainerProvider" not in (REPO / "schemas" / "provider.json").read_text()
