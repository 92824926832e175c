"""The `reconciler.providers` entry points, read once per process and loaded one by one on demand.

Why its own module: two layers ask for plugins and may not import each other — the loader wants
each provider's spec models (`reconciler.loading.spec_registry`), wiring and the planner want the
adapter, emulator and facts (`reconciler.providers.plugins`). Both go through this cache, so the
installed distributions' metadata is scanned once, and nothing here is imported by
`reconciler --help`. It knows nothing of what a plugin is; each caller checks what it loads.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points

ENTRY_POINT_GROUP = "reconciler.providers"


@functools.cache
def registered() -> dict[str, EntryPoint]:
    """Provider type (the entry point's name) -> its entry point, sorted by type; nothing imported."""
    found: dict[str, EntryPoint] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in found and found[point.name].value != point.value:
            raise ValueError(
                f"provider type {point.name!r} is registered twice ({found[point.name].value}, {point.value})"
            )
        found[point.name] = point
    return found


@functools.cache
def loaded(provider_type: str) -> object | None:
    """The object the entry point `provider_type` names, imported on first use; None if not registered."""
    point = registered().get(provider_type)
    return point.load() if point is not None else None


def reset() -> None:
    """Forget what was read (tests that put a plugin's distribution on sys.path call this)."""
    registered.cache_clear()
    loaded.cache_clear()
