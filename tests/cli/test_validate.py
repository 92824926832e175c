"""`reconciler validate`: exit codes, stderr lines, summary, --json shape, --show-effective."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import main

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "manifests" / "quickstart"


@pytest.fixture
def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click ≥ 8.2 always keeps stderr apart
        return CliRunner()


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example_copy: Callable[..., Path]) -> Path:
    monkeypatch.chdir(tmp_path)
    return example_copy("manifests/quickstart", "qs")


def test_valid_exits_0_with_a_summary(runner: CliRunner, quickstart: Path) -> None:
    result = runner.invoke(main, ["validate", "-f", "qs"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "0 errors, 0 warnings in 2 files: 1 provider, 4 resources valid\n"
    assert result.stderr == ""


def test_invalid_exits_1_with_one_line_per_error(runner: CliRunner, quickstart: Path) -> None:
    ft = quickstart / "money-rain.yaml"
    ft.write_text(
        ft.read_text().replace("lora_rank: 32", "lora_rank: 48").replace("n_epochs: 150", "n_epochs: 100")
    )
    (quickstart / "extra.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Deployment\nmetadata: {name: d2}\nspec: {}\n"
    )
    result = runner.invoke(main, ["validate", "-f", "qs"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "qs/extra.yaml:4:1: Deployment/d2: spec.provider: missing; name a Provider (defined: dashscope)",
        "qs/money-rain.yaml:25:5: FineTune/money-rain: spec.hyper_parameters.lora_rank: must be a power of two (got 48)",
        "2 errors, 0 warnings in 3 files",
    ]
    assert result.stdout == ""


def test_warnings_do_not_fail(runner: CliRunner, quickstart: Path) -> None:
    ft = quickstart / "money-rain.yaml"
    ft.write_text(ft.read_text().replace("n_epochs: 150", "n_epochs: 100"))
    result = runner.invoke(main, ["validate", "-f", "qs"])
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "qs/money-rain.yaml:23:5: FineTune/money-rain: spec.hyper_parameters.n_epochs: warning: trains for only "
        "600 steps (12 samples, batch_size 2, n_epochs 100); at least 800 are recommended: set n_epochs to 134 or more"
    ]
    assert result.stdout.startswith("0 errors, 1 warning in 2 files")


def test_json_shape(runner: CliRunner, quickstart: Path) -> None:
    ft = quickstart / "money-rain.yaml"
    ft.write_text(ft.read_text().replace("lora_rank: 32", "lora_rank: 48"))
    result = runner.invoke(main, ["validate", "-f", "qs", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert set(report) == {"valid", "errors", "warnings", "resources"}
    assert report["valid"] is False and report["warnings"] == []
    assert report["errors"] == [
        {
            "severity": "error",
            "file": "qs/money-rain.yaml",
            "line": 25,
            "column": 5,
            "address": "FineTune/money-rain",
            "field": "spec.hyper_parameters.lora_rank",
            "message": "must be a power of two (got 48)",
        }
    ]


def test_json_resources_when_valid(runner: CliRunner, quickstart: Path) -> None:
    result = runner.invoke(main, ["validate", "-f", "qs", "--json", "--show-effective"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["valid"] is True
    addresses = [r["address"] for r in report["resources"]]
    assert addresses == [
        "Provider/dashscope",
        "Dataset/money-rain-train",
        "FineTune/money-rain",
        "CheckpointExport/money-rain-c600",
        "Deployment/money-rain",
    ]
    dataset = report["resources"][1]
    assert dataset["content"]["samples"] == 12 and len(dataset["content"]["digest"]) == 64
    assert report["resources"][2]["effective_spec"]["hyper_parameters"]["batch_size"] == 2


def test_show_effective_prints_defaults_as_yaml(runner: CliRunner, quickstart: Path) -> None:
    result = runner.invoke(main, ["validate", "-f", "qs", "--show-effective"])
    assert result.exit_code == 0
    docs = list(yaml.safe_load_all(result.stdout))
    ft = next(d for d in docs if d["kind"] == "FineTune")
    assert ft["spec"]["hyper_parameters"]["eval_epochs"] == 50
    assert ft["spec"]["hyper_parameters"]["max_pixels"] == 36864
    assert "0 errors" in result.stderr


def test_missing_path_is_a_clear_error(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["validate", "-f", "nope"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["nope: no such file or directory", "1 error, 0 warnings in 0 files"]


def test_f_is_required(runner: CliRunner) -> None:
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 2


def test_validate_writes_nothing(runner: CliRunner, quickstart: Path) -> None:
    before = sorted((p.relative_to(quickstart), p.stat().st_mtime_ns) for p in quickstart.rglob("*"))
    runner.invoke(main, ["validate", "-f", "qs", "--json"])
    after = sorted((p.relative_to(quickstart), p.stat().st_mtime_ns) for p in quickstart.rglob("*"))
    assert before == after
    assert not (quickstart / ".reconciler").exists()
