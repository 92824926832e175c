"""The pull-request comment as CI posts it: marker first, errors and warnings before the summary."""

from __future__ import annotations

from reconciler.models.plans import Action, ActionType, Plan
from reconciler.render import comment_marker, plan_to_markdown, plan_to_text

REFRESH_FAILED = {
    "severity": "error",
    "message": "refresh failed for provider 'dashscope': HTTP 500 after 4 attempts",
}


def _plan(**kw: object) -> Plan:
    return Plan(reconciler_version="0", created_at="", **kw)  # type: ignore[arg-type]


def test_a_failed_refresh_never_renders_as_no_changes() -> None:
    plan = _plan(errors=[REFRESH_FAILED], environment="prod")
    md = plan_to_markdown(plan)
    assert "No changes" not in md and "No changes" not in plan_to_text(plan)
    lines = md.splitlines()
    assert lines[0] == "<!-- reconciler:plan env=prod -->" == comment_marker(plan)
    assert lines[1] == "### Reconciler plan · `prod`"
    caution = md.index("[!CAUTION]")
    assert caution < md.index("**Plan incomplete: 1 error") < md.index("| Action | Count |")
    assert "refresh failed for provider 'dashscope'" in md[caution : md.index("**Plan incomplete")]


def test_warnings_come_before_the_summary_and_causes_are_counted() -> None:
    drift = Action(
        address="Deployment/d",
        kind="Deployment",
        name="d",
        provider="p",
        provider_type="dashscope",
        action=ActionType.CREATE,
        drift=True,
        reason="deleted outside reconciler",
    )
    edit = drift.model_copy(
        update={"address": "FineTune/f", "kind": "FineTune", "drift": False, "action": ActionType.REPLACE}
    )
    plan = _plan(actions=[drift, edit], warnings=[{"severity": "warning", "message": "few steps"}])
    md = plan_to_markdown(plan)
    assert md.startswith("<!-- reconciler:plan env=default -->\n")
    assert md.index("[!WARNING]") < md.index("**Plan: 1 to create")
    assert "Changes by cause: 1 drift (changed outside reconciler) · 1 from the manifests · 0 unsettled" in md
    s = plan.summary()
    assert (s.drift_changes, s.manifest_changes, s.unsettled) == (1, 1, 0)
