"""The project file's budget: plan and apply refuse a plan above it (exit 3), naming the key that set it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests" / "project"
OVER_BUDGET = 3


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".reconciler"))
    for name in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_STATE", "RECONCILER_ENV", "RECONCILER_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")
    monkeypatch.setenv("RECONCILER_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(dest)
    return dest


def set_budgets(project: Path, *, top: str | None, prod: str | None) -> None:
    """Rewrite the example's budgets: the project's (top level) and prod's."""
    lines = [ln for ln in (project / "reconciler.yaml").read_text().splitlines() if "budget:" not in ln]
    out = []
    for ln in lines:
        if ln.startswith("environments:") and top is not None:
            out.append(f"budget: {top!r}")
        out.append(ln)
        if ln.strip() == "patches: [envs/prod/patches.yaml]" and prod is not None:
            out.append(f"    budget: {prod!r}")
    (project / "reconciler.yaml").write_text("\n".join(out) + "\n")


def test_the_example_budget_lets_its_plan_through(project: Path) -> None:
    r = run("plan", "--env", "prod", "--detailed-exitcode")
    assert r.exit_code == 2, r.output  # changes, within the example's $500


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_an_environment_budget_below_the_plan_refuses_it_and_changes_nothing(
    project: Path, command: str
) -> None:
    set_budgets(project, top=None, prod="$5")
    args = [command, "--env", "prod"] + (["--auto-approve"] if command == "apply" else [])
    r = run(*args)
    assert r.exit_code == OVER_BUDGET, r.output
    assert "above the environments.prod.budget in reconciler.yaml $5.00" in r.output
    set_budgets(project, top=None, prod=None)
    again = run("plan", "--env", "prod", "--detailed-exitcode")
    assert again.exit_code == 2 and "Plan: 3 to create" in again.output  # nothing was applied
    assert run("plan", "--env", "dev", "--detailed-exitcode").exit_code == 2  # dev has no budget


def test_the_project_budget_holds_every_environment_unless_one_sets_its_own(project: Path) -> None:
    set_budgets(project, top="$5", prod="$1000")
    r = run("plan", "--env", "dev")
    assert r.exit_code == OVER_BUDGET, r.output
    assert "above the budget in reconciler.yaml $5.00" in r.output
    assert run("plan", "--env", "prod").exit_code == 0  # prod's own budget replaces the project's


def test_max_cost_on_the_command_line_overrides_the_project_budget(project: Path) -> None:
    set_budgets(project, top="$5", prod=None)
    assert run("plan", "--env", "prod", "--max-cost", "1000").exit_code == 0
    set_budgets(project, top="$1000", prod=None)
    r = run("plan", "--env", "prod", "--max-cost", "1")
    assert r.exit_code == OVER_BUDGET and "above --max-cost $1.00" in r.output


def test_a_budget_that_is_not_an_amount_is_an_error_at_its_line(project: Path) -> None:
    set_budgets(project, top=None, prod="lots")
    r = run("plan", "--env", "prod")
    assert r.exit_code == 1, r.output
    line = next(
        i for i, ln in enumerate((project / "reconciler.yaml").read_text().splitlines(), 1) if "budget:" in ln
    )
    assert (
        f"reconciler.yaml:{line}:" in r.output and "environments.prod.budget: must be an amount" in r.output
    )
    assert "Traceback" not in r.output
