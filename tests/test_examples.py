"""Every example manifest validates with zero errors and zero warnings, and its data is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.loading import load

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = [
    REPO / "manifests" / "quickstart",
    REPO / "manifests" / "examples" / "wavespeed",
    REPO / "manifests" / "examples" / "imgopen",
]


@pytest.mark.parametrize("directory", EXAMPLES, ids=lambda p: p.name)
def test_example_is_valid_without_warnings(directory: Path) -> None:
    result = load([directory], cwd=REPO)
    assert [str(d) for d in result.diagnostics] == []
    assert result.manifests.resources


def test_all_manifests_together() -> None:
    # manifests/project is a project of its own (reconciler.yaml, patch files): tests/project/
    result = load(EXAMPLES, cwd=REPO)
    assert [str(d) for d in result.diagnostics] == []
    assert len(result.manifests.providers) == 3


def test_every_manifest_starts_with_a_schema_line() -> None:
    for path in sorted((REPO / "manifests").rglob("*.yaml")):
        if path.name == "reconciler.yaml" or path.name == "patches.yaml":
            continue  # a project file and merge patches are not manifests (tests/project/)
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        schema = (path.parent / first.split("=", 1)[1]).resolve()
        assert schema == (REPO / "schemas" / "reconciler.json").resolve(), path


def test_quickstart_trains_at_least_800_steps() -> None:
    ft = load([REPO / "manifests" / "quickstart"], cwd=REPO).manifests.get("FineTune/money-rain")
    dataset = load([REPO / "manifests" / "quickstart"], cwd=REPO).manifests.get("Dataset/money-rain-train")
    assert ft is not None and dataset is not None and dataset.content is not None
    assert ft.spec.training_steps(dataset.content.sample_count) >= 800  # type: ignore[attr-defined]


def test_example_data_is_generated_by_the_script() -> None:
    check = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_example_data.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
