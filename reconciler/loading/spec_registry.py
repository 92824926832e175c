"""The spec models of the installed provider plugins, as one `SpecRegistry` for the loader.

Why here: the loader validates a document against the spec model its provider's plugin brings;
core lists no provider. The plugins are the `reconciler.providers` entry points
(`reconciler.plugin_discovery`, read once per process); a plugin is imported only when a load
needs the registry, never for `reconciler --help`.
"""

from __future__ import annotations

import functools

from reconciler import plugin_discovery
from reconciler.models.registry import ProviderSpecs, SpecRegistry

SHIPPED_WITH = "reconciler"  # this project's own distribution: the plugins `schemas/` describes


def installed_specs(distribution: str | None = None) -> SpecRegistry:
    """Every installed plugin's Provider spec and kinds' spec models; with `distribution`, only the
    plugins that distribution registers (`reconciler schema` describes what ships with it, so its
    check does not change when another plugin happens to be on the path)."""
    points = plugin_discovery.registered()
    return _registry(
        tuple(
            (name, point.value)
            for name, point in points.items()
            if distribution is None or (point.dist is not None and point.dist.name == distribution)
        )
    )


@functools.cache
def _registry(points: tuple[tuple[str, str], ...]) -> SpecRegistry:
    # keyed by the entry points, so a test that puts a plugin on the path (and resets the
    # discovery) gets a registry with it
    values = dict(points)
    return SpecRegistry(values, lambda name: _checked(name, values[name]))


def _checked(name: str, value: str) -> ProviderSpecs:
    plugin = plugin_discovery.loaded(name)
    if not isinstance(plugin, ProviderSpecs):
        raise TypeError(
            f"entry point {name} = {value} in group {plugin_discovery.ENTRY_POINT_GROUP} "
            f"brings no spec models (not a ProviderPlugin)"
        )
    return plugin
