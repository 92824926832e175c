"""Local dataset files: content hashing, deterministic zips, archive safety, provider layouts.

File I/O only: no YAML, no HTTP. The loader calls these for every local Dataset. Which layout
rules a provider's datasets follow comes from its plugin (`rules.rules_for`); this package lists
no provider.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from reconciler.datasets.content_cache import ContentCache
from reconciler.datasets.errors import DatasetError
from reconciler.datasets.hashing import content_of, content_of_source, digest_of
from reconciler.datasets.inspecting import DatasetInspection, content_digest, inspect_dataset
from reconciler.datasets.layouts import DatasetProblem, LayoutReport
from reconciler.datasets.rules import DatasetRules, rules_for
from reconciler.datasets.sources import DatasetSource, open_source
from reconciler.datasets.zipping import write_deterministic_zip

_LAYOUT_CHECK = re.compile(r"check_([a-z0-9_]+)_layout")


def __getattr__(name: str) -> Any:
    """`check_<type>_layout` from its module `<type>_layout` (the older import path, kept for callers)."""
    match = _LAYOUT_CHECK.fullmatch(name)
    if match is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{match[1]}_layout")
    except ModuleNotFoundError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(module, name)


__all__ = [
    "ContentCache",
    "DatasetError",
    "DatasetInspection",
    "DatasetProblem",
    "DatasetRules",
    "DatasetSource",
    "LayoutReport",
    "content_digest",
    "content_of",
    "content_of_source",
    "digest_of",
    "inspect_dataset",
    "open_source",
    "rules_for",
    "write_deterministic_zip",
]
