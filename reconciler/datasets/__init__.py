"""Local dataset files: content hashing, deterministic zips, archive safety, provider layouts.

File I/O only: no YAML, no HTTP. The loader calls these for every local Dataset. Which layout
rules a provider's datasets follow comes from its plugin (`rules.rules_for`); this package lists
no provider.
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.datasets.content_cache import ContentCache
    from reconciler.datasets.errors import DatasetError
    from reconciler.datasets.hashing import content_of, content_of_source, digest_of
    from reconciler.datasets.inspecting import DatasetInspection, content_digest, inspect_dataset
    from reconciler.datasets.layouts import DatasetProblem, LayoutReport
    from reconciler.datasets.rules import DatasetRules, rules_for
    from reconciler.datasets.sources import DatasetSource, open_source
    from reconciler.datasets.zipping import write_deterministic_zip

# Each name from its module on first use: the dataset prescan (`scanning`, run in a child process
# while the parent starts up) must import without the models and pydantic behind `hashing`.
_WHERE = {
    "ContentCache": "content_cache",
    "DatasetError": "errors",
    "content_of": "hashing",
    "content_of_source": "hashing",
    "digest_of": "hashing",
    "DatasetInspection": "inspecting",
    "content_digest": "inspecting",
    "inspect_dataset": "inspecting",
    "DatasetProblem": "layouts",
    "LayoutReport": "layouts",
    "DatasetRules": "rules",
    "rules_for": "rules",
    "DatasetSource": "sources",
    "open_source": "sources",
    "write_deterministic_zip": "zipping",
}
_LAYOUT_CHECK = re.compile(r"check_([a-z0-9_]+)_layout")


def __getattr__(name: str) -> Any:
    """A name of `__all__` from its module; `check_<type>_layout` from `<type>_layout` (the older
    import path, kept for callers)."""
    where = _WHERE.get(name)
    if where is not None:
        value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
        globals()[name] = value
        return value
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
