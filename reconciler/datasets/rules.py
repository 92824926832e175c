"""A provider's dataset rules, found through its plugin: core code names no provider.

Why: how a local Dataset is laid out, how its samples are counted and which usages a FineTune
gives it are the provider's facts (issue 13, "providers are plugins"). A provider plugin names its
rules as a "module:attribute" string (`ProviderPlugin.dataset_rules`); this module reads that
string from the plugin registered under the provider type (`reconciler.plugin_discovery`, as
`loading.spec_registry` does for spec models) and imports the rules on first use, so a provider
without local dataset rules (or an unknown type) gets the neutral defaults: no layout check, and
one sample per media file.

A *usage* is a tuple whose first item is the provider type (`("<type>", ...)`): it keys the
layout results in the content cache, so a provider's rules must keep its tuples stable.
"""

from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable

from reconciler import plugin_discovery
from reconciler.datasets.layouts import LayoutReport
from reconciler.datasets.sources import DatasetSource

Usage = tuple[str, ...]


@runtime_checkable
class DatasetRules(Protocol):
    """What the loader and the hashing pass ask a provider about its local datasets."""

    def usage(
        self, fine_tune: object, field_path: str, dataset_name: str, dataset_spec: object
    ) -> tuple[Usage | None, list[str]]:
        """The usage a FineTune spec (of this provider) gives the Dataset it names at
        `spec.<field_path>`, and the problems with that use (reported at that field)."""
        ...

    def default_usage(self, dataset_spec: object) -> Usage | None:
        """The usage of a Dataset no FineTune names (None: its layout is not checked)."""
        ...

    def check_layout(self, source: DatasetSource, usage: Usage) -> LayoutReport: ...

    def count_samples(self, source: DatasetSource) -> int | None:
        """Training samples, or None for the default (one per media file)."""
        ...


def rules_for(provider_type: str | None) -> DatasetRules | None:
    """The dataset rules the plugin of `provider_type` names, or None (no plugin, or no rules)."""
    if not provider_type:
        return None
    plugin = plugin_discovery.loaded(str(provider_type))
    where = getattr(plugin, "dataset_rules", None)
    if not where:
        return None
    module, _, name = str(where).partition(":")
    if not module or not name:
        raise ValueError(f"a plugin names its dataset rules as 'module:attribute' (got {where!r})")
    rules = getattr(importlib.import_module(module), name)
    checked = _CHECKED.get(id(rules))
    if checked is None or checked is not rules:
        if not isinstance(rules, DatasetRules):
            raise TypeError(
                f"{where} (the dataset rules of provider type {provider_type!r}) is not a DatasetRules"
            )
        _CHECKED[id(rules)] = checked = rules
    return checked


# Rules objects that passed the isinstance check (by id; the value keeps the id taken). The check
# of a runtime Protocol costs ~20 µs, and a load asks once per FineTune and per Dataset.
_CHECKED: dict[int, DatasetRules] = {}


__all__ = ["DatasetRules", "Usage", "rules_for"]
