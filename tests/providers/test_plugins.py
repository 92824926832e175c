"""The plugin registry: what a broken registration says, and what an unknown provider type gets."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.models.plans import ReplaceMode
from reconciler.providers import plugins
from reconciler.providers.facts import NoFacts
from reconciler.providers.plugins import facts_for, installed, plugin_for


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path where a test writes a distribution, as if it were installed."""
    sys.path.insert(0, str(tmp_path))
    plugins.reset()
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        plugins.reset()
        sys.modules.pop("broken_plugin", None)


def distribution(site: Path, entry: str, module: str) -> None:
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[reconciler.providers]\n{entry}\n")
    (site / "broken_plugin.py").write_text(module)


def test_an_entry_point_that_is_not_a_plugin_is_refused_by_name(site: Path) -> None:
    distribution(site, "oops = broken_plugin:PLUGIN", "PLUGIN = object()\n")
    with pytest.raises(
        TypeError, match="entry point oops = broken_plugin:PLUGIN .* is a object, not a ProviderPlugin"
    ):
        plugin_for("oops")


def test_the_entry_point_name_must_be_the_provider_type(site: Path) -> None:
    distribution(
        site,
        "alias = broken_plugin:PLUGIN",
        "from reconciler.providers.plugins import ProviderPlugin\nPLUGIN = ProviderPlugin(type='real', title='Real')\n",
    )
    with pytest.raises(ValueError, match="registers provider type 'real': the names must match"):
        installed()


def test_a_type_nobody_registered_has_nothing_special_to_say() -> None:
    facts = facts_for("nobody-registered-this")
    assert isinstance(facts, NoFacts) and plugin_for("nobody-registered-this") is None
    assert not facts.running("FineTune", "RUNNING") and facts.no_delete_api("Dataset") is None
    assert (
        facts.replace_mode("Deployment", {}, {}, upstream_changed=False) is ReplaceMode.CREATE_BEFORE_DESTROY
    )


def test_the_built_in_providers_are_found_through_their_entry_points() -> None:
    found = installed()
    assert {"dashscope", "wavespeed", "imgopen"} <= set(found)
    for type_, plugin in found.items():
        assert plugin.type == type_ and plugin.capabilities().get("FineTune")
        assert plugin.new_emulator() is not None


def test_dashscope_deployments_replace_beside_the_old_only_when_neither_name_is_kept() -> None:
    facts = facts_for("dashscope")
    mode = lambda before, after, moved=False: facts.replace_mode(  # noqa: E731
        "Deployment", before, after, upstream_changed=moved
    )
    assert mode({"suffix": "a"}, {"suffix": "a"}) is ReplaceMode.DESTROY_BEFORE_CREATE  # the suffix is held
    assert mode({}, {}) is ReplaceMode.DESTROY_BEFORE_CREATE  # same model name, no suffix
    assert mode({}, {}, moved=True) is ReplaceMode.CREATE_BEFORE_DESTROY  # a new model: a new name
    assert mode({"suffix": "a"}, {"suffix": "b"}) is ReplaceMode.CREATE_BEFORE_DESTROY
    assert facts.replace_mode("FineTune", {}, {}, upstream_changed=False) is ReplaceMode.CREATE_BEFORE_DESTROY
    assert facts.running("FineTune", "QUEUING") and not facts.running("FineTune", "CANCELING")
    assert not facts.running("Deployment", "RUNNING")  # a serving deployment is not a job
