"""Manifests on disk → validated resources: YAML with positions, envelopes, references, datasets.

Public interface: `load(paths) -> LoadResult`, `load_manifests(paths) -> ManifestSet` (raises
`ManifestError`), `parse_yaml(text, display_path)`.
"""

from __future__ import annotations

from reconciler.loading.errors import ManifestError
from reconciler.loading.loader import LoadResult, discover, in_source_order, load, load_manifests
from reconciler.loading.paths import display_path
from reconciler.loading.yaml_source import YamlDocument, YamlFile, parse_yaml

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
