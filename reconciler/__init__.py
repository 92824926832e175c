"""reconciler — a declarative plan/apply reconciler for LoRA fine-tuning resources.

The Python API mirrors the CLI (README "Python API"):

    from reconciler import Workspace, ApplyEvent, ResourceProgress
    ws = Workspace(["manifests/quickstart"])
    plan = ws.plan()                                  # a Plan value: .actions, .has_changes, .summary()
    plan, result = ws.apply(plan, on_event=print)     # ApplyResult: .ok, .outcomes
    ws.outputs()                                      # address -> ids, model names, deployed models

Every name is typed for a type checker (`mypy --strict` sees the real classes through the
`TYPE_CHECKING` imports below) and imported lazily at run time, on first use, so
`import reconciler.models` stays free of HTTP, SQLite and YAML and the CLI starts fast.
"""

from __future__ import annotations

import sys as _sys
from typing import TYPE_CHECKING, Any

from reconciler.version import __version__

# httpx's __init__ imports its command-line client (`httpx._main`: click, rich, pygments; a third
# of a refresh's start-up) whenever those happen to be installed, inside `try/except ImportError`.
# reconciler never runs that client, so the import is made to fail at once: a None entry in
# sys.modules raises ImportError, and httpx then defines its stub `main` instead.
if "httpx" not in _sys.modules:
    _sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None marks "cannot import"

if TYPE_CHECKING:
    from reconciler.engine.events import (
        ApplyEvent,
        EventCallback,
        ResourceFinished,
        ResourceProgress,
        ResourceRetried,
        ResourceStarted,
    )
    from reconciler.engine.outcomes import ApplyResult, Outcome, ResourceOutcome
    from reconciler.loading import ManifestError
    from reconciler.models.changes import ChangeClass
    from reconciler.models.plans import Action, ActionType, Plan, PlanSummary
    from reconciler.models.state import Event, ResourceRecord
    from reconciler.workspace import StalePlanError, Workspace, WorkspaceError

__all__ = [
    "Action",
    "ActionType",
    "ApplyEvent",
    "ApplyResult",
    "ChangeClass",
    "Event",
    "EventCallback",
    "ManifestError",
    "Outcome",
    "Plan",
    "PlanSummary",
    "ResourceFinished",
    "ResourceOutcome",
    "ResourceProgress",
    "ResourceRecord",
    "ResourceRetried",
    "ResourceStarted",
    "StalePlanError",
    "Workspace",
    "WorkspaceError",
    "__version__",
]

_LAZY = {
    "Workspace": "reconciler.workspace",
    "WorkspaceError": "reconciler.workspace",
    "StalePlanError": "reconciler.workspace",
    "Plan": "reconciler.models.plans",
    "PlanSummary": "reconciler.models.plans",
    "Action": "reconciler.models.plans",
    "ActionType": "reconciler.models.plans",
    "ChangeClass": "reconciler.models.changes",
    "ApplyResult": "reconciler.engine.outcomes",
    "Outcome": "reconciler.engine.outcomes",
    "ResourceOutcome": "reconciler.engine.outcomes",
    "ApplyEvent": "reconciler.engine.events",
    "EventCallback": "reconciler.engine.events",
    "ResourceStarted": "reconciler.engine.events",
    "ResourceProgress": "reconciler.engine.events",
    "ResourceRetried": "reconciler.engine.events",
    "ResourceFinished": "reconciler.engine.events",
    "ManifestError": "reconciler.loading",
    "Event": "reconciler.models.state",
    "ResourceRecord": "reconciler.models.state",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `import reconciler.models` stays free of HTTP, SQLite and YAML.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reconciler' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
