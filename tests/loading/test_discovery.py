"""Discovery never walks into dataset folders, and what it finds does not depend on the order it walked.

A manifest tree holds the datasets too (25 files per chain in the benchmarks); walking them to find
the YAML files cost 8 % of a plan. A folder a manifest names as a Dataset `source` is not entered,
and YAML inside it is dataset content, not a manifest — whether the folder was reached before or
after the manifest that names it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reconciler.loading import discovering, load

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "manifests" / "quickstart"


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = os.scandir

    def spying(path):  # type: ignore[no-untyped-def]
        calls.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(discovering.os, "scandir", spying)
    return calls


def test_dataset_folders_are_not_walked(tmp_path: Path, scanned: list[str]) -> None:
    root = tmp_path / "qs"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns(".reconciler"))
    scanned.clear()
    result = load([root], cwd=tmp_path, check_data=False)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert sorted(os.path.relpath(p, root) for p in scanned) == [".", "data"]  # not data/money-rain


def test_yaml_inside_a_dataset_folder_is_dataset_content_in_either_walk_order(tmp_path: Path) -> None:
    for manifests_dir, data_dir in (("a-manifests", "z-data"), ("z-manifests", "a-data")):
        root = tmp_path / manifests_dir.split("-")[0]
        shutil.copytree(
            QUICKSTART, root / manifests_dir, ignore=shutil.ignore_patterns(".reconciler", "data")
        )
        shutil.copytree(
            QUICKSTART / "data" / "money-rain",
            root / data_dir / "money-rain",
            ignore=shutil.ignore_patterns(".reconciler"),
        )
        (root / data_dir / "money-rain" / "notes.yaml").write_text("not: [a manifest")  # dataset content
        ds = root / manifests_dir / "money-rain.yaml"
        ds.write_text(ds.read_text().replace("source: data/money-rain", f"source: ../{data_dir}/money-rain"))
        result = load([root], cwd=root, check_data=False)
        assert result.ok, (manifests_dir, [str(d) for d in result.diagnostics])
        assert result.manifests.files == [
            f"{manifests_dir}/money-rain.yaml",
            f"{manifests_dir}/provider.yaml",
        ]


def test_a_folder_named_only_by_a_yaml_inside_a_dataset_is_still_walked(tmp_path: Path) -> None:
    root = tmp_path / "qs"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns(".reconciler"))
    # a YAML file inside the dataset names `more/` as a dataset: it is dataset content, so `more/` is walked
    (root / "data" / "money-rain" / "decoy.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: decoy}\nspec: {provider: x, source: ../../more}\n"
    )
    (root / "more").mkdir()
    (root / "more" / "p.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Provider\nmetadata: {name: other}\nspec: {type: dashscope, endpoint: sandbox}\n"
    )
    result = load([root], cwd=root, check_data=False)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.manifests.files == ["money-rain.yaml", "more/p.yaml", "provider.yaml"]


def test_a_folder_given_with_f_is_walked_even_if_it_holds_a_dataset(tmp_path: Path) -> None:
    root = tmp_path / "qs"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns(".reconciler"))
    (root / "data" / "money-rain" / "x.yaml").write_text("a: 1\n")
    result = load([root / "data" / "money-rain", root], cwd=root, check_data=False)
    assert "data/money-rain/x.yaml" in result.manifests.files  # named explicitly: read


def test_links_to_folders_are_not_followed_and_links_to_files_are_read_once(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "p.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Provider\nmetadata: {name: p}\nspec: {type: dashscope, endpoint: sandbox}\n"
    )
    (root / "again.yaml").symlink_to(root / "p.yaml")
    (root / "loop").symlink_to(root)
    result = load([root], cwd=tmp_path)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.manifests.files == ["m/again.yaml"] or result.manifests.files == ["m/p.yaml"]


def test_normalized_source_resolves_only_when_a_link_could_change_the_answer(tmp_path: Path) -> None:
    (tmp_path / "real" / "inner").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "inner")
    base = str(tmp_path / "m")
    assert discovering.normalized_source(base, "../data/x") == str(tmp_path / "data" / "x")
    assert discovering.normalized_source(base, "./d") == str(tmp_path / "m" / "d")
    # link/.. is real/, not tmp_path/: resolved
    assert discovering.normalized_source(str(tmp_path), "link/../y") == str(tmp_path / "real" / "y")
