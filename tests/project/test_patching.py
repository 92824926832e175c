"""Environment patches: RFC 7386 semantics, positions from both files, and errors naming both."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler.loading import load
from reconciler.loading.patching import PatchSet, patch_document, read_patches
from reconciler.loading.yaml_source import parse_yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests" / "project"


def rfc7386(target: Any, patch: Any) -> Any:
    """The RFC's own pseudo-code, as the reference."""
    if isinstance(patch, dict):
        if not isinstance(target, dict):
            target = {}
        out = dict(target)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = rfc7386(out.get(k), v)
        return out
    return patch


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 2 or roll < 0.35:
        return rng.choice([1, 2, "a", "b", True, 2.5])
    if roll < 0.5:
        return [rng.choice([1, "x"]) for _ in range(rng.randint(0, 2))]
    if roll < 0.6:
        return None
    return {rng.choice("abcd"): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False)


def _paths(value: Any, prefix: str = "") -> set[str]:
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{prefix}.{k}" if prefix else str(k)
            out.add(p)
            out |= _paths(v, p)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            p = f"{prefix}[{i}]"
            out.add(p)
            out |= _paths(v, p)
    return out


@pytest.mark.parametrize("seed", range(300))
def test_merge_is_rfc7386_and_every_position_points_at_the_file_that_wrote_it(seed: int) -> None:
    rng = random.Random(seed)
    base_spec = {k: _value(rng, 1) for k in rng.sample("abcd", rng.randint(1, 4))}
    base_spec = {k: v for k, v in base_spec.items() if v is not None}
    patch_spec = {k: _value(rng, 1) for k in rng.sample("abcd", rng.randint(1, 4))}
    base = {"apiVersion": "reconciler/v1", "kind": "FineTune", "metadata": {"name": "x"}, "spec": base_spec}
    patch = {"kind": "FineTune", "metadata": {"name": "x"}, "spec": patch_spec}
    base_doc = parse_yaml(_yaml(base), "base.yaml").documents[0]
    patch_file = parse_yaml(_yaml(patch), "patch.yaml")
    patches = read_patches([("patch.yaml", "/p/patch.yaml", patch_file)], [])
    merged = patch_document("base.yaml", "/b", base_doc, patches)

    assert merged.data["spec"] == rfc7386(base_spec, patch_spec)
    assert base_doc.data == base  # the (possibly cached) base document is not changed
    written = _paths(merged.data)
    assert set(merged.locations) <= written | {""}  # no position for a field that is gone
    patch_paths = {p for p in _paths(patch) if p.startswith("spec")}
    for path in written:
        if not path.startswith("spec."):
            continue
        loc = merged.locations.get(path)
        assert loc is not None, path
        replaced_by_patch = any(
            path == p or path.startswith(p + ".") or path.startswith(p + "[")
            for p in patch_paths
            if not isinstance(_get(patch, p), dict)
        )
        if replaced_by_patch:
            assert loc.file == "patch.yaml", path
        elif path not in patch_paths:
            assert loc.file == "base.yaml", path


def _get(data: Any, path: str) -> Any:
    import re

    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        data = data[int(part[1:-1])] if part.startswith("[") else data[part]
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".reconciler"))
    return dest


def _load(project: Path, patch_text: str) -> list[str]:
    patch = project / "envs" / "prod" / "patches.yaml"
    patch.write_text(patch_text)
    result = load([project / "shared"], cwd=project, patches=[patch])
    return [str(d) for d in result.diagnostics]


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_type_wrong_after_patching_names_the_patch_line_and_the_base_line(project: Path) -> None:
    got = _load(
        project,
        "kind: FineTune\nmetadata: {name: money-rain}\nspec:\n  hyper_parameters:\n    n_epochs: many\n",
    )
    base_line = _line_of(project / "shared" / "money-rain.yaml", "n_epochs:")
    assert got == [
        "envs/prod/patches.yaml:5:5: FineTune/money-rain: spec.hyper_parameters.n_epochs: must be an integer "
        f"(got 'many') (patch of shared/money-rain.yaml:{base_line}:5)"
    ]


def test_an_unknown_field_in_a_patch_is_an_error_at_the_patch(project: Path) -> None:
    got = _load(
        project, "kind: FineTune\nmetadata: {name: money-rain}\nspec:\n  hyper_parameter: {n_epochs: 3}\n"
    )
    assert len(got) == 1
    assert got[0].startswith(
        "envs/prod/patches.yaml:4:3: FineTune/money-rain: spec.hyper_parameter: unknown field"
    )
    assert "hyper_parameters" in got[0]  # did you mean
    assert "(patch of shared/money-rain.yaml:" in got[0]


def test_a_patch_for_a_resource_that_does_not_exist_is_an_error(project: Path) -> None:
    got = _load(project, "kind: FineTune\nmetadata:\n  name: money-rian\nspec: {model: x}\n")
    assert len(got) == 1
    assert got[0].startswith(
        "envs/prod/patches.yaml:3:3: FineTune/money-rian: metadata.name: this patch targets"
    )
    assert "did you mean 'money-rain'" in got[0] and "declared FineTunes: money-rain" in got[0]


def test_an_error_the_patch_causes_in_the_base_names_the_patch(project: Path) -> None:
    # removing a required field: the error is where the document is, and says which patch did it
    got = _load(project, "kind: FineTune\nmetadata: {name: money-rain}\nspec:\n  model: null\n")
    assert len(got) == 1 and "spec.model" in got[0]
    assert got[0].startswith("shared/money-rain.yaml:")
    assert got[0].endswith("(after the patch at envs/prod/patches.yaml:1:1)")


def test_patch_documents_need_kind_and_name_and_only_envelope_keys(project: Path) -> None:
    got = _load(project, "metadata: {}\nspec: {}\nstatus: {}\n")
    assert any("kind: missing" in g for g in got)
    assert any("metadata.name: missing" in g for g in got)
    assert any("unknown top-level field 'status'" in g for g in got)
    assert all(g.startswith("envs/prod/patches.yaml:") for g in got)


def test_the_same_resource_patched_twice_is_an_error(project: Path) -> None:
    doc = "kind: Deployment\nmetadata: {name: money-rain}\nspec: {suffix: a}\n"
    got = _load(project, doc + "---\n" + doc)
    assert got == [
        "envs/prod/patches.yaml:5:1: Deployment/money-rain: patched twice in this environment "
        "(first at envs/prod/patches.yaml:1:1); merge the two patches into one document "
        "(patch of shared/money-rain.yaml:25:1)"
    ]


def test_a_patch_file_inside_the_manifests_is_refused(project: Path) -> None:
    patch = project / "shared" / "patches.yaml"
    patch.write_text("kind: Deployment\nmetadata: {name: money-rain}\nspec: {suffix: a}\n")
    got = [str(d) for d in load([project / "shared"], cwd=project, patches=[patch]).diagnostics]
    assert "shared/patches.yaml:1:1: this patch file is also read as a manifest" in got[0]


def test_a_dataset_source_in_a_patch_is_relative_to_the_patch(project: Path) -> None:
    shutil.copytree(
        project / "shared" / "data",
        project / "envs" / "prod" / "data",
        ignore=shutil.ignore_patterns(".reconciler"),
    )
    (project / "envs" / "prod" / "data" / "money-rain" / "image_1.png").write_bytes(
        b"\x89PNG\r\n\x1a\nchanged"
    )
    patch = project / "envs" / "prod" / "patches.yaml"
    patch.write_text("kind: Dataset\nmetadata: {name: money-rain-train}\nspec: {source: data/money-rain}\n")
    patched = load([project / "shared"], cwd=project, patches=[patch], check_data=True)
    plain = load([project / "shared"], cwd=project, check_data=True)
    a = patched.manifests.get("Dataset/money-rain-train")
    b = plain.manifests.get("Dataset/money-rain-train")
    assert a is not None and b is not None and a.content is not None and b.content is not None
    assert a.content.source == str((project / "envs" / "prod" / "data" / "money-rain").resolve())
    assert a.content.digest != b.content.digest


def test_the_example_environments_differ_only_where_patched() -> None:
    dev = load([EXAMPLE / "shared"], cwd=EXAMPLE, patches=[EXAMPLE / "envs/dev/patches.yaml"])
    prod = load([EXAMPLE / "shared"], cwd=EXAMPLE, patches=[EXAMPLE / "envs/prod/patches.yaml"])
    assert not list(dev.diagnostics) and not list(prod.diagnostics)
    ft_dev, ft_prod = dev.manifests.get("FineTune/money-rain"), prod.manifests.get("FineTune/money-rain")
    assert ft_dev is not None and ft_prod is not None
    assert ft_dev.effective_spec()["hyper_parameters"]["n_epochs"] == 150
    assert ft_prod.effective_spec()["hyper_parameters"]["n_epochs"] == 200
    assert ft_dev.labels == {"team": "effects", "env": "dev"}  # labels merge
    spec_dev = dict(ft_dev.effective_spec())
    spec_prod = dict(ft_prod.effective_spec())
    spec_dev["hyper_parameters"] = {**spec_dev["hyper_parameters"], "n_epochs": 200}
    assert spec_dev == spec_prod
    dep = prod.manifests.get("Deployment/money-rain")
    assert dep is not None and dep.effective_spec()["suffix"] == "prod"


def test_an_empty_patch_set_changes_nothing() -> None:
    assert not PatchSet()
    plain = load([EXAMPLE / "shared"], cwd=EXAMPLE)
    with_none = load([EXAMPLE / "shared"], cwd=EXAMPLE, patches=[])
    assert plain.manifests.resources.keys() == with_none.manifests.resources.keys()


def test_a_base_error_the_patch_does_not_touch_reads_as_without_the_patch(project: Path) -> None:
    ft = project / "shared" / "money-rain.yaml"
    ft.write_text(ft.read_text().replace("learning_rate: 2.0e-5", "learning_rate: fast"))
    plain = [str(d) for d in load([project / "shared"], cwd=project).diagnostics]
    got = _load(project, "kind: FineTune\nmetadata: {name: money-rain, labels: {env: prod}}\n")
    assert got == plain and len(got) == 1 and "after the patch" not in got[0]
