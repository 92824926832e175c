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
import sys
from pathlib import Path

import pytest

from reconciler import plugin_discovery
from reconciler.datasets import LayoutReport, content_of, inspect_dataset
from reconciler.datasets.rules import DatasetRules, rules_for
from reconciler.datasets.sources import DatasetSource
from reconciler.models.kinds import ProviderType
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


def test_rules_are_checked_again_when_the_plugin_names_another_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the isinstance check is remembered per object: an object put in its place is checked anew
    import types

    module = types.ModuleType("fake_rules_module")
    module.RULES = RULES  # type: ignore[attr-defined]  # a module made in the test
    monkeypatch.setitem(sys.modules, "fake_rules_module", module)

    class Plugin:
        dataset_rules = "fake_rules_module:RULES"

    monkeypatch.setattr(plugin_discovery, "loaded", lambda name: Plugin())
    assert rules_for("x") is RULES
    assert rules_for("x") is RULES
    module.RULES = object()  # type: ignore[attr-defined]  # a module made in the test
    with pytest.raises(TypeError, match="not a DatasetRules"):
        rules_for("x")


class _CountsTextFiles:
    """A provider's rules that only this test knows: a sample is a `.txt` file."""

    def usage(
        self, fine_tune: object, field_path: str, dataset_name: str, dataset_spec: object
    ) -> tuple[tuple[str, ...] | None, list[str]]:
        return ("fake",), []

    def default_usage(self, dataset_spec: object) -> tuple[str, ...] | None:
        return ("fake",)

    def check_layout(self, source: DatasetSource, usage: tuple[str, ...]) -> LayoutReport:
        report = LayoutReport()
        report.error(f"{len(source.names())} files, usage {usage}")
        return report

    def count_samples(self, source: DatasetSource) -> int | None:
        return sum(n.endswith(".txt") for n in source.names())


RULES = _CountsTextFiles()
FAKE = ProviderType("fake")


def test_a_plugin_the_core_has_never_heard_of_decides_the_sample_count_and_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hashing pass and the layout run ask the plugin of the dataset's provider type, by name only."""

    class Plugin:
        dataset_rules = f"{__name__}:RULES"

    real = plugin_discovery.loaded
    monkeypatch.setattr(plugin_discovery, "loaded", lambda name: Plugin() if name == "fake" else real(name))
    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.png"):
        (folder / name).write_bytes(name.encode())
    assert content_of(folder, FAKE).sample_count == 2
    assert content_of(folder).sample_count == 1  # no provider: one sample per media file
    assert content_of(folder).digest == content_of(folder, FAKE).digest  # the digest knows no provider
    inspection = inspect_dataset(folder, provider=FAKE, usages=[("fake",)], check_layout=_by_plugin)
    assert [p.message for p in inspection.layouts[("fake",)]] == ["3 files, usage ('fake',)"]


def _by_plugin(source: DatasetSource, usage: tuple[str, ...]) -> LayoutReport:
    rules = rules_for(usage[0])
    assert rules is not None
    return rules.check_layout(source, usage)
