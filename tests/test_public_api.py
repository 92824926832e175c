"""The package root re-exports the Python API: exactly the names `__all__` pins."""

from __future__ import annotations

import reconciler

PUBLIC = {
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
}  # the typed Python API (README "Python API"): plan, actions, outcomes, apply events, state events


def test_a_star_import_gives_exactly_the_public_names():
    # the root resolves its names lazily: a star import must still find every one
    namespace: dict[str, object] = {}
    exec("from reconciler import *", namespace)
    assert set(namespace) - {"__builtins__"} == PUBLIC == set(reconciler.__all__)
    from reconciler.workspace import Workspace

    assert namespace["Workspace"] is Workspace


def test_time_scale_from_the_provider_manifest_reaches_the_sandbox(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Provider\nmetadata: {name: ds}\n"
        "spec: {type: dashscope, endpoint: sandbox, sandbox: {time_scale: 1234}}\n"
    )
    ws = reconciler.Workspace([tmp_path])
    ws.adapters()
    assert ws.wiring.sandbox_instance().time_scale == 1234
