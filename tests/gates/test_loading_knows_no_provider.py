"""The loader and the dataset code name no provider (issue 13, item 2: "core code holds no list of providers").

A provider's dataset rules (its usages, layout check and sample count) come from its plugin's
`dataset_rules` ("module:attribute"). The modules those strings name are the provider's own, even
where they sit in `reconciler/datasets/` (the layer below the loader and the providers, so both can
use them); every other file of `reconciler/loading/` and `reconciler/datasets/` must not spell a
provider type or title, in code, strings or comments. The names come from the installed plugins,
so a provider added later is covered without editing this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler import plugin_discovery
from reconciler.datasets.rules import DatasetRules, rules_for
from reconciler.providers.plugins import installed

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"


def provider_names() -> set[str]:
    return {p.type for p in installed().values()} | {p.title for p in installed().values()}


def provider_owned() -> set[Path]:
    """The files the plugins name as their dataset rules."""
    owned: set[Path] = set()
    for plugin in installed().values():
        if plugin.dataset_rules:
            module = plugin.dataset_rules.partition(":")[0]
            owned.add(PACKAGE.parent / (module.replace(".", "/") + ".py"))
    return owned


def scanned() -> list[Path]:
    files = sorted((PACKAGE / "loading").rglob("*.py")) + sorted((PACKAGE / "datasets").rglob("*.py"))
    return [f for f in files if f not in provider_owned()]


def mentions(paths: list[Path]) -> list[str]:
    pattern = re.compile("|".join(re.escape(n) for n in sorted(provider_names())), re.IGNORECASE)
    return [
        f"{path}:{n}: {line.strip()}"
        for path in paths
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]


def test_no_provider_name_in_the_loader_or_the_dataset_code() -> None:
    found = mentions(scanned())
    assert not found, found


def test_the_scan_sees_what_it_looks_for(tmp_path: Path) -> None:
    assert {"dashscope", "wavespeed", "WaveSpeed", "imgopen"} <= provider_names()
    files = scanned()
    assert PACKAGE / "loading" / "dataset_checks.py" in files
    assert PACKAGE / "datasets" / "hashing.py" in files
    assert PACKAGE / "datasets" / "__init__.py" in files
    # only what the plugins name is exempt, and each of those files exists
    owned = provider_owned()
    assert owned and all(p.is_file() and p.parent == PACKAGE / "datasets" for p in owned)
    sample = tmp_path / "sample.py"
    sample.write_text('if provider == "Dashscope":  # fine\n    pass\n# trains on WAVESPEED\n')
    assert len(mentions([sample])) == 2


def test_each_provider_with_a_dataset_spec_brings_rules_or_none() -> None:
    """Every installed plugin's `dataset_rules` loads and is a DatasetRules; none means no rules."""
    for name, plugin in installed().items():
        rules = rules_for(name)
        assert (rules is None) == (not plugin.dataset_rules), name
        if rules is not None:
            assert isinstance(rules, DatasetRules)
    assert rules_for(None) is None
    assert rules_for("no-such-provider") is None


def test_a_malformed_rules_string_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Plugin:
        dataset_rules = "reconciler.datasets.layouts"  # no ":attribute"

    monkeypatch.setattr(plugin_discovery, "loaded", lambda name: Plugin())
    with pytest.raises(ValueError, match="module:attribute"):
        rules_for("x")
    Plugin.dataset_rules = "reconciler.datasets.layouts:LayoutReport"  # not a DatasetRules
    with pytest.raises(TypeError, match="not a DatasetRules"):
        rules_for("x")
