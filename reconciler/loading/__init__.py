"""Manifests on disk → validated resources: YAML with positions, envelopes, references, datasets.

Public interface: `load(paths) -> LoadResult`, `load_manifests(paths) -> ManifestSet` (raises
`ManifestError`), `parse_yaml(text, display_path)`. Names are imported on first use, so
`from reconciler.loading.errors import ManifestError` (the CLI's error handler) costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.loading.errors import ManifestError
    from reconciler.loading.loader import LoadResult, discover, in_source_order, load, load_manifests
    from reconciler.loading.paths import display_path
    from reconciler.loading.yaml_source import YamlDocument, YamlFile, parse_yaml

_LAZY = {
    "ManifestError": "reconciler.loading.errors",
    "LoadResult": "reconciler.loading.loader",
    "discover": "reconciler.loading.loader",
    "in_source_order": "reconciler.loading.loader",
    "load": "reconciler.loading.loader",
    "load_manifests": "reconciler.loading.loader",
    "display_path": "reconciler.loading.paths",
    "YamlDocument": "reconciler.loading.yaml_source",
    "YamlFile": "reconciler.loading.yaml_source",
    "parse_yaml": "reconciler.loading.yaml_source",
}

__all__ = [
    "LoadResult",
    "ManifestError",
    "YamlDocument",
    "YamlFile",
    "discover",
    "in_source_order",
    "display_path",
    "load",
    "load_manifests",
    "parse_yaml",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reconciler.loading' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
