"""reconciler — a declarative plan/apply reconciler for LoRA fine-tuning resources.

The Python API mirrors the CLI:

    from reconciler import Workspace
    ws = Workspace(["manifests/quickstart"])
    plan = ws.plan()                 # a Plan value: .actions, .has_changes, .summary()
    plan, result = ws.apply(plan)    # ApplyResult: .ok, .outcomes
"""

from __future__ import annotations

import sys as _sys
from typing import Any

__version__ = "0.1.0"

# httpx's __init__ imports its command-line client (`httpx._main`: click, rich, pygments; a third
# of a refresh's start-up) whenever those happen to be installed, inside `try/except ImportError`.
# reconciler never runs that client, so the import is made to fail at once: a None entry in
# sys.modules raises ImportError, and httpx then defines its stub `main` instead.
if "httpx" not in _sys.modules:
    _sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None marks "cannot import"

__all__ = ["ApplyResult", "ManifestError", "Plan", "Workspace", "WorkspaceError", "__version__"]

_LAZY = {
    "Workspace": ("reconciler.workspace", "Workspace"),
    "WorkspaceError": ("reconciler.workspace", "WorkspaceError"),
    "Plan": ("reconciler.models.plans", "Plan"),
    "ApplyResult": ("reconciler.engine.outcomes", "ApplyResult"),
    "ManifestError": ("reconciler.loading", "ManifestError"),
}


def __getattr__(name: str) -> Any:
    # Lazy, so `import reconciler.models` stays free of HTTP, SQLite and YAML.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'reconciler' has no attribute {name!r}")
