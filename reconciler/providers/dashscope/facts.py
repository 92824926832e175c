"""DashScope's status words and replacement rules, for the planner (no I/O, no client).

The phase tables are the adapter's reading of each object's status (providers.md §1); the planner
asks `DASHSCOPE_FACTS` what it needs before anything is called (`plan --refresh=false`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.models.plans import ReplaceMode
from reconciler.providers.facts import Note, ObservationNotes
from reconciler.providers.interface import Observation, Phase

JOB_PHASES = {
    "SUCCEEDED": Phase.READY,
    "FAILED": Phase.FAILED,
    "CANCELED": Phase.CANCELED,
    "PENDING": Phase.PENDING,
    "QUEUING": Phase.PENDING,
    "RUNNING": Phase.PENDING,
    "CANCELING": Phase.PENDING,
}
EXPORT_PHASES = {
    "SUCCEEDED": Phase.READY,
    "FAILED": Phase.FAILED,
    "UNSUPPORTED": Phase.FAILED,
    "PENDING": Phase.PENDING,
    "PROCESSING": Phase.PENDING,
}
DEPLOYMENT_PHASES = {
    "RUNNING": Phase.READY,
    "PENDING": Phase.PENDING,
    "DEPLOYING": Phase.PENDING,
    "UPDATING": Phase.PENDING,
    "SCALING": Phase.PENDING,
    "ARREARS_RECOVERING": Phase.PENDING,
    "WAIT_PRE_PAID_BILLING_TO_DEPLOYING": Phase.PENDING,
    "WAIT_PRE_PAID_BILLING_TO_SCALING": Phase.PENDING,
    "FAILED": Phase.FAILED,
    "UPDATING_FAILED": Phase.FAILED,
    "STOPPED": Phase.FAILED,
    "ARREARS_DOWN": Phase.FAILED,
    "DELETING": Phase.DELETING,
    "OFFLINING": Phase.DELETING,
}
FILE_PHASES = {
    "processed": Phase.READY,
    "uploaded": Phase.PENDING,
    "processing": Phase.PENDING,
    "error": Phase.FAILED,
}

# A job in these states still holds the account's training slot: cancel it before replacing or
# removing it. CANCELING is already on its way out.
RUNNING_JOB_STATUSES = frozenset({"PENDING", "QUEUING", "RUNNING"})


class DashScopeFacts:
    def no_delete_api(self, kind: str) -> str | None:
        return {
            "CheckpointExport": "DashScope has no API to delete an exported model",
            "Sample": "DashScope has no API to delete a video-synthesis task (its video URL expires after 24 h)",
        }.get(kind)

    def running(self, kind: str, status: str) -> bool:
        return kind == "FineTune" and status in RUNNING_JOB_STATUSES

    def replace_mode(
        self, kind: str, before: Mapping[str, Any], after: Mapping[str, Any], *, upstream_changed: bool
    ) -> ReplaceMode:
        if kind == "Deployment":
            # A suffix is globally unique, and without one deployed_model is the model name: the
            # replacement can stand beside the old one only when it keeps neither (providers.md §1.6).
            old_suffix, new_suffix = before.get("suffix"), after.get("suffix")
            if (new_suffix and new_suffix == old_suffix) or (
                not new_suffix and not old_suffix and not upstream_changed
            ):
                return ReplaceMode.DESTROY_BEFORE_CREATE
        return ReplaceMode.CREATE_BEFORE_DESTROY

    def observation_notes(
        self, kind: str, spec: Mapping[str, Any], observed: Observation
    ) -> ObservationNotes:
        """A checkpoint's saved files expire (providers.md §1.5): say so once it has."""
        if not observed.facts.get("expired"):
            return ObservationNotes()
        expired_at = observed.facts.get("expire_time")
        warning = Note(
            f"checkpoint expired at {expired_at}; the exported model is unaffected, but it cannot be exported again"
        )
        errors = []
        if kind == "CheckpointExport" and observed.phase is not Phase.READY:
            errors.append(
                Note(
                    f"checkpoint {spec.get('checkpoint')} expired at {expired_at} before it was exported; "
                    "choose another checkpoint or retrain the fine-tune",
                    field="spec.checkpoint",
                )
            )
        return ObservationNotes(warnings=[warning], errors=errors)


DASHSCOPE_FACTS = DashScopeFacts()
