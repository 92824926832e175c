"""The engine commands as a user runs them: exit codes, saved plans, JSON/Markdown, state commands, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch, example_copy: Callable[..., Path]) -> Path:
    dest = example_copy("manifests/quickstart")
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")  # jobs finish at once
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return dest


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_plan_apply_plan_exit_codes(root: Path):
    r = run("plan", "-f", str(root), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "Plan: 4 to create" in r.output
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "4 succeeded, 0 failed" in r.output
    r = run("plan", "-f", str(root), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "No changes" in r.output
    r = run("plan", "-f", str(root), "--refresh=false", "--detailed-exitcode")
    assert r.exit_code == 0, r.output


def test_a_hyper_parameter_change_exits_2_and_says_retrain(root: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    ft = root / "money-rain.yaml"
    ft.write_text(ft.read_text().replace("n_epochs: 150", "n_epochs: 300"))
    r = run("plan", "-f", str(root), "--detailed-exitcode")
    assert r.exit_code == 2
    assert "hyper_parameters.n_epochs 150 → 300 forces retrain" in r.output
    assert "GPU-hours" in r.output


def test_saved_plan_round_trip_and_staleness(root: Path, tmp_path: Path):
    out = tmp_path / "plan.json"
    r = run("plan", "-f", str(root), "--out", str(out))
    assert r.exit_code == 0 and out.exists()
    assert json.loads(out.read_text())["format_version"].startswith("1.")
    r = run("apply", "-f", str(root), str(out))
    assert r.exit_code == 0, r.output
    r = run("apply", "-f", str(root), str(out))  # the state moved since
    assert r.exit_code == 1
    assert "state changed since this plan was made" in r.output


def test_a_broken_plan_file_is_a_clear_error(root: Path, tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = run("apply", "-f", str(root), str(bad))
    assert r.exit_code == 1
    assert "Error:" in r.output and "Traceback" not in r.output


def test_apply_without_a_terminal_refuses_to_guess(root: Path):
    r = run("apply", "-f", str(root))
    assert r.exit_code == 1
    assert "--auto-approve" in r.output
    assert (
        not (root / ".reconciler" / "sandbox.db").exists()
        or run("state", "list", "-f", str(root)).output.strip() == ""
    )


def test_json_and_markdown_output(root: Path):
    r = run("plan", "-f", str(root), "--json")
    assert r.exit_code == 0
    lines = [json.loads(line) for line in r.output.splitlines()]  # the stream: one object per line
    assert [line["type"] for line in lines] == ["version", "plan", "summary"]
    plan = lines[1]["plan"]  # the document `plan --out` saves
    assert [a["action"] for a in plan["actions"]] == ["create"] * 4
    r = run("plan", "-f", str(root), "--markdown")
    assert r.exit_code == 0 and "<details>" in r.output and "|" in r.output


def test_state_output_graph_import_commands(root: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    listing = run("state", "list", "-f", str(root)).output
    assert "FineTune/money-rain\tft-" in listing
    shown = json.loads(run("state", "show", "-f", str(root), "FineTune/money-rain").output)
    assert shown["status"] == "SUCCEEDED"
    outputs = json.loads(run("output", "-f", str(root), "--json").output)
    assert outputs["Deployment/money-rain"]["deployed_model"]
    assert "graph LR" in run("graph", "-f", str(root)).output
    assert "->" in run("graph", "-f", str(root), "--format", "dot").output
    job = shown["remote_id"]
    r = run("state", "rm", "-f", str(root), "FineTune/money-rain")
    assert r.exit_code == 0 and "left on the provider" in r.output
    r = run("import", "-f", str(root), "FineTune/money-rain", job)
    assert r.exit_code == 0, r.output
    assert run("plan", "-f", str(root), "--detailed-exitcode").exit_code == 0
    r = run("state", "show", "-f", str(root), "FineTune/nope")
    assert r.exit_code == 1 and "not in state" in r.output


def test_bad_manifest_fails_with_location_and_changes_nothing(root: Path):
    ft = root / "money-rain.yaml"
    ft.write_text(ft.read_text().replace("lora_rank: 32", "lora_rank: 48"))
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 1
    assert "money-rain.yaml:" in r.output and "must be a power of two (got 48)" in r.output
    assert not (root / ".reconciler").exists()


def test_a_real_endpoint_without_its_key_says_which_variable(root: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    provider = root / "provider.yaml"
    provider.write_text(provider.read_text().replace("endpoint: sandbox", "endpoint: intl"))
    r = run("plan", "-f", str(root))
    assert r.exit_code == 1
    assert "DASHSCOPE_API_KEY is not set" in r.output and "Traceback" not in r.output


def test_destroy_then_state_is_empty(root: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    r = run("destroy", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert run("state", "list", "-f", str(root)).output.strip() == ""


def test_destroy_says_forgotten_for_what_the_provider_cannot_delete(root: Path):
    assert run("apply", "-f", str(root), "--auto-approve").exit_code == 0
    r = run("destroy", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    why = "destroy; forgotten, not deleted: DashScope has no API to delete an exported model"
    assert f"~> CheckpointExport/money-rain-c600  forget\n      # {why}\n" in r.output  # the plan
    assert re.search(
        rf"~> CheckpointExport/money-rain-c600  forget(  \(\d+s\))?: {re.escape(why)}\n", r.output
    ), r.output  # what apply did
    assert "CheckpointExport/money-rain-c600  delete" not in r.output
    assert "3 to delete, 0 to cancel, 1 to forget." in r.output
    assert "- FineTune/money-rain  delete" in r.output


def test_every_command_has_help():
    for cmd in (
        "plan",
        "apply",
        "destroy",
        "refresh",
        "import",
        "output",
        "graph",
        "force-unlock",
        "validate",
        "schema",
        "sandbox",
        "state",
    ):
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "Usage:" in r.output, cmd


def test_the_quickstart_plan_shows_money_and_gpu_hours_and_max_cost_below_it_blocks(root: Path):
    r = run("plan", "-f", str(root))
    assert r.exit_code == 0, r.output
    total = re.search(
        r"Estimated cost: at least \$([0-9.,]+) \+ 2 unknown; about ([0-9.]+) GPU-hours\.", r.output
    )
    assert total, r.output
    amount = float(total.group(1).replace(",", ""))
    assert amount > 0 and float(total.group(2)) > 0
    below, above = f"{amount - 0.01:.2f}", f"{amount + 0.01:.2f}"
    r = run("plan", "-f", str(root), "--max-cost", below)
    assert r.exit_code == 3, r.output
    assert f"above --max-cost ${below}" in r.output and "2 actions have no known price" in r.output
    assert run("plan", "-f", str(root), "--max-cost", above).exit_code == 0
    assert run("plan", "-f", str(root), "--max-cost", f"{above} USD", "--detailed-exitcode").exit_code == 2
    r = run("apply", "-f", str(root), "--auto-approve", "--max-cost", f"${below}")
    assert r.exit_code == 3, r.output
    assert "nothing was applied" in r.output
    state = run("state", "list", "-f", str(root))
    assert "FineTune/money-rain" not in state.output  # refused before anything was created
    r = run("apply", "-f", str(root), "--auto-approve", "--max-cost", above)
    assert r.exit_code == 0, r.output
    out = run("output", "-f", str(root), "FineTune/money-rain")
    assert re.search(
        r"cost_estimated = \$[0-9.]+ \(about [0-9.]+ GPU-hours; \$0\.05 per 1k training tokens\)", out.output
    )
    assert "cost_used = $" in out.output and "reported by the provider" in out.output


def test_max_cost_in_another_currency_cannot_be_compared(root: Path):
    r = run("plan", "-f", str(root), "--max-cost", "100 CNY")
    assert r.exit_code == 3, r.output
    assert "cannot be compared" in r.output
    r = run("plan", "-f", str(root), "--max-cost", "lots")
    assert r.exit_code == 2 and "--max-cost" in r.output
