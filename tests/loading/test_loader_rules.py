"""Loader rules not covered by the corpus: discovery, roots, caching, content, raising, cycles."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from reconciler.datasets import hashing
from reconciler.loading import ManifestError, in_source_order, load, load_manifests
from reconciler.loading.documents import read_envelope
from reconciler.loading.references import check_cycles, raw_references
from reconciler.loading.yaml_source import parse_yaml
from reconciler.models.kinds import Kind
from reconciler.models.specs import ResourceSpec

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "manifests" / "quickstart"

PROVIDER = "apiVersion: reconciler/v1\nkind: Provider\nmetadata: {name: %s}\nspec: {type: dashscope, endpoint: sandbox}\n"


def test_directories_are_walked_recursively_sorted_skipping_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / ".reconciler").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "p.yml").write_text(PROVIDER % "pb")
    (tmp_path / "a" / "deep" / "p.yaml").write_text(PROVIDER % "pa")
    (tmp_path / ".reconciler" / "x.yaml").write_text("not: [valid")
    (tmp_path / ".git" / "x.yaml").write_text("not: [valid")
    (tmp_path / "README.md").write_text("# not a manifest")
    result = load([tmp_path], cwd=tmp_path)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.manifests.files == ["a/deep/p.yaml", "b/p.yml"]
    assert sorted(result.manifests.providers) == ["pa", "pb"]
    assert result.manifests.root == str(tmp_path)


def test_root_is_the_first_directory_or_the_files_directory(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PROVIDER % "p")
    assert load([tmp_path / "p.yaml"], cwd=tmp_path).manifests.root == str(tmp_path)


def test_the_same_file_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PROVIDER % "p")
    result = load([tmp_path, tmp_path / "p.yaml"], cwd=tmp_path)
    assert result.ok and result.manifests.files == ["p.yaml"]


def test_paths_outside_the_working_directory_are_absolute(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "p.yaml").write_text("kind: Provider\n")
    (tmp_path / "elsewhere").mkdir()
    result = load([tmp_path / "m"], cwd=tmp_path / "elsewhere")
    assert str(result.diagnostics.errors[0].location).startswith(str(tmp_path / "m" / "p.yaml") + ":1:1")


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    result = load([tmp_path / "nope", tmp_path], cwd=tmp_path)
    assert [str(d) for d in result.diagnostics] == [
        f"{tmp_path / 'nope'}: no such file or directory",
        f"{tmp_path}: no *.yaml or *.yml files found",
    ]


def test_all_errors_are_reported_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v2\nkind: Provider\nmetadata: {name: a}\nspec: {type: x}\n")
    (tmp_path / "b.yaml").write_text("kind: Nope\n---\n: [\n")
    result = load([tmp_path], cwd=tmp_path)
    assert len(result.diagnostics.errors) == 7  # 1 + 1 in a.yaml; syntax + 4 envelope in b.yaml


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("---\n# nothing\n---\n" + PROVIDER % "p" + "---\n")
    assert load([tmp_path], cwd=tmp_path).ok


def test_load_manifests_raises_with_every_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("kind: Provider\n---\nkind: Dataset\n")
    with pytest.raises(ManifestError) as caught:
        load_manifests([tmp_path])
    assert len(caught.value.diagnostics.errors) == 6
    assert str(caught.value).startswith("invalid manifests: ")


def test_quickstart_resources_locations_and_content(
    tmp_path: Path, example_copy: Callable[..., Path]
) -> None:
    target = example_copy("manifests/quickstart", "qs")
    m = load_manifests([target], cwd=tmp_path)
    dataset = m.get("Dataset/money-rain-train")
    assert dataset is not None and dataset.content is not None
    assert dataset.content.sample_count == 12
    assert dataset.content.digest == hashing.content_of(QUICKSTART / "data" / "money-rain").digest
    ft = m.get("FineTune/money-rain")
    assert ft is not None and ft.dependencies() == ["Dataset/money-rain-train"]
    assert str(ft.location_of("spec.hyper_parameters.n_epochs")) == "qs/money-rain.yaml:23:5"
    assert m.topological_order() == [
        "Dataset/money-rain-train",
        "FineTune/money-rain",
        "CheckpointExport/money-rain-c600",
        "Deployment/money-rain",
    ]


def test_a_dataset_used_by_several_fine_tunes_is_hashed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example_copy: Callable[..., Path]
) -> None:
    target = example_copy("manifests/quickstart", "qs")
    extra = (target / "money-rain.yaml").read_text().split("---\n")[1]
    (target / "more.yaml").write_text(
        "\n---\n".join(extra.replace("name: money-rain\n", f"name: money-rain-{i}\n") for i in range(3))
    )
    opened: list[str] = []
    from reconciler.datasets import sources

    def counting_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(sources, "open", counting_open, raising=False)  # what DirectorySource calls
    real_open_fd = sources.open_fd

    def counting_open_fd(path: str) -> int:  # a small file's one whole read (DirectorySource.read_small)
        opened.append(str(path))
        return real_open_fd(path)

    monkeypatch.setattr(sources, "open_fd", counting_open_fd)
    result = load([target], cwd=tmp_path)
    assert result.ok, [str(d) for d in result.diagnostics]
    assert len([r for r in result.manifests if r.kind is Kind.FINE_TUNE]) == 4
    files = sorted(str(p) for p in (target / "data" / "money-rain").iterdir())
    assert sorted(opened) == files  # hashing and every layout check share one read of each file


def test_check_data_false_skips_datasets(tmp_path: Path, example_copy: Callable[..., Path]) -> None:
    target = example_copy("manifests/quickstart", "qs")
    shutil.rmtree(target / "data")
    assert not load([target], cwd=tmp_path).ok
    result = load([target], cwd=tmp_path, check_data=False)
    assert result.ok and result.manifests.get("Dataset/money-rain-train").content is None  # type: ignore[union-attr]


class _Node(ResourceSpec):
    """A test-only spec whose references can form a cycle (no real kind can today)."""

    KIND: ClassVar[Kind] = Kind.FINE_TUNE
    REFERENCES: ClassVar[dict[str, Kind]] = {"after": Kind.FINE_TUNE}
    after: list[str] = []


def test_cycles_are_reported_once_with_their_path() -> None:
    text = "".join(
        f"---\napiVersion: reconciler/v1\nkind: FineTune\nmetadata: {{name: {n}}}\nspec: {{provider: p, after: {deps}}}\n"
        for n, deps in [("a", "[b]"), ("b", "[c]"), ("c", "[a]"), ("d", "[d]"), ("e", "[a]")]
    )
    out: list = []
    docs = [read_envelope("m.yaml", d, out) for d in parse_yaml(text, "m.yaml").documents]
    check_cycles([(d, list(raw_references(d, _Node))) for d in docs if d], out)
    assert [str(d) for d in in_source_order(out)] == [
        "m.yaml:2:1: FineTune/a: dependency cycle: FineTune/a → FineTune/b → FineTune/c → FineTune/a; "
        "remove one of these references",
        "m.yaml:17:1: FineTune/d: dependency cycle: FineTune/d → FineTune/d; remove one of these references",
    ]


def test_manifest_files_are_read_whole(tmp_path: Path) -> None:
    from reconciler.loading.loader import read_bytes

    for size in (0, 1, 4095, 4096, 70_000, 300_000):
        body = bytes(i % 251 for i in range(size))
        (tmp_path / "f").write_bytes(body)
        assert read_bytes(str(tmp_path / "f")) == body
    with pytest.raises(IsADirectoryError):
        read_bytes(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        read_bytes(str(tmp_path / "missing"))
