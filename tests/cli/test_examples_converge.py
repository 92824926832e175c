"""The WaveSpeed and ImgOpen examples converge in the sandbox through the CLI, as the README says."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def fast_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def test_wavespeed_example_converges_and_downloads_its_loras(
    tmp_path: Path, example_copy: Callable[..., Path]
):
    root = example_copy("manifests/examples/wavespeed")
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert run("plan", "-f", str(root), "--detailed-exitcode").exit_code == 0
    out = run("output", "-f", str(root)).output
    assert "high_noise_lora = http" in out and "low_noise_lora = http" in out
    r = run("output", "-f", str(root), "--download", str(tmp_path / "loras"), "--json")
    assert r.exit_code == 0, r.output
    outputs = json.loads(r.stdout)
    ft = next(v for k, v in outputs.items() if k.startswith("FineTune/"))
    for key in ("high_noise_lora", "low_noise_lora"):
        info = ft["downloads"][key]
        assert hashlib.sha256(Path(info["path"]).read_bytes()).hexdigest() == info["sha256"]
    assert run("destroy", "-f", str(root), "--auto-approve").exit_code == 0
    assert run("state", "list", "-f", str(root)).output.strip() == ""


def test_imgopen_example_converges_and_downloads_its_lora(tmp_path: Path, example_copy: Callable[..., Path]):
    root = example_copy("manifests/examples/imgopen")
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert run("plan", "-f", str(root), "--detailed-exitcode").exit_code == 0
    assert "lora_url = http" in run("output", "-f", str(root)).output
    r = run("output", "-f", str(root), "--download", str(tmp_path / "loras"), "--json")
    assert r.exit_code == 0, r.output
    ft = next(v for k, v in json.loads(r.stdout).items() if k.startswith("FineTune/"))
    info = ft["downloads"]["lora_url"]
    assert hashlib.sha256(Path(info["path"]).read_bytes()).hexdigest() == info["sha256"]
    r = run("destroy", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    # ImgOpen has no delete API: the plan and the result say "forgotten", never "deleted"
    assert "forget" in r.output and "forgotten, not deleted: ImgOpen has no delete or cancel API" in r.output
    assert "  delete" not in r.output
