"""Refresh-only plans: what changed on the providers since the last apply, and nothing else.

Like Terraform's `-refresh-only`: the plan compares the state (what we last applied and saw) with
what the providers say now, ignoring the manifests, so CI can report drift by itself. Accepting
it (`apply --refresh-only`) changes only the state, never a provider object:

- an object deleted outside reconciler is forgotten (`forget`); the next plan creates it as new;
- a job, export or deployment that FAILED or was CANCELED there has that status recorded (`update`);
- a live field changed in place (a deployment scaled in the console) is recorded as the
  provider's value (`update`): the next plan proposes setting it back only if the manifest differs.

Pure: records and observations in, a `Plan` (and, for acceptance, new records) out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.models.changes import ChangeClass
from reconciler.models.diagnostics import Diagnostic, Severity
from reconciler.models.plans import Action, ActionType, FieldChange, Plan
from reconciler.models.state import ResourceRecord, StateMeta, iso_utc
from reconciler.providers.interface import Observation, Phase

MODE = "refresh-only"


def make_refresh_only_plan(
    records: Mapping[str, ResourceRecord],
    observations: Mapping[str, Observation],
    meta: StateMeta,
    *,
    diagnostics: list[Diagnostic],
    blocked: Mapping[str, str],
    reconciler_version: str,
    created_at: str,
    manifest_paths: list[str],
    state_path: str | None,
) -> Plan:
    actions = []
    warnings = [d for d in diagnostics if d.severity is Severity.WARNING]
    for address in sorted(records):
        rec = records[address]
        if address in blocked:
            warnings.append(
                Diagnostic(f"not refreshed: {blocked[address]}", address=address, severity=Severity.WARNING)
            )
            continue
        obs = observations.get(address)
        if obs is None:
            continue
        action = _drift_of(rec, obs)
        if action is not None:
            actions.append(action)
    return Plan(
        reconciler_version=reconciler_version,
        created_at=created_at,
        operation="apply",
        mode=MODE,
        manifest_paths=manifest_paths,
        state_path=state_path,
        lineage=meta.lineage,
        serial=meta.serial,
        refreshed=True,
        actions=actions,
        errors=[d.to_dict() for d in diagnostics if d.severity is Severity.ERROR],
        warnings=[d.to_dict() for d in warnings],
    )


def _drift_of(rec: ResourceRecord, obs: Observation) -> Action | None:
    base = Action(
        address=rec.address,
        kind=rec.kind,
        name=rec.name,
        provider=rec.provider,
        provider_type=rec.provider_type,
        action=ActionType.UPDATE,
        change_class=ChangeClass.LOCAL,
        depends_on=list(rec.dependencies),
        prior=rec.to_dict(),
        adopted=_observed(obs),
        drift=True,
    )
    if obs.phase is Phase.GONE:
        if rec.deposed:  # its deposed objects still need deleting: keep the record, say so
            base.warnings.append(
                "deleted outside reconciler, but an interrupted replace left objects to delete"
            )
            base.reason = (
                f"{rec.remote_id or rec.address} was deleted outside reconciler; kept (deposed objects)"
            )
            return base
        base.action = ActionType.FORGET
        base.change_class = None
        what = obs.message or f"{rec.remote_id or rec.address} was deleted outside reconciler"
        base.reason = f"{what}; accepting forgets it (the next plan creates it again)"
        return base
    changes = []
    if obs.phase in (Phase.FAILED, Phase.CANCELED) and obs.status != rec.status:
        changes.append(
            FieldChange(
                path="(status)",
                before=rec.status,
                after=obs.status,
                change_class=ChangeClass.LOCAL,
                outside=True,
            )
        )
    ignore = [str(p) for p in (rec.lifecycle or {}).get("ignore_changes") or []]
    applied = _flatten(rec.spec)
    for path, value in sorted(obs.live_fields.items()):
        if (
            path in applied
            and applied[path] != value
            and not any(path == p or path.startswith(p + ".") for p in ignore)
        ):
            changes.append(
                FieldChange(
                    path=path, before=applied[path], after=value, change_class=ChangeClass.LOCAL, outside=True
                )
            )
    if not changes:
        return None
    base.changes = changes
    detail = f": {obs.message}" if obs.message and obs.phase in (Phase.FAILED, Phase.CANCELED) else ""
    base.reason = (
        "changed outside reconciler: "
        + "; ".join(f"{c.path} {c.before} → {c.after}" for c in changes)
        + detail
        + "; accepting records it in the state"
    )
    return base


def accept(
    records: Mapping[str, ResourceRecord], plan: Plan, now: float
) -> tuple[list[ResourceRecord], list[str]]:
    """(records to write, addresses to forget) that record the plan's drift in the state."""
    writes, forgets = [], []
    for action in plan.actions:
        rec = records.get(action.address)
        if rec is None:
            continue
        if action.action is ActionType.FORGET:
            forgets.append(action.address)
            continue
        seen = action.adopted or {}
        spec = dict(rec.spec)
        for change in action.changes:
            if change.path != "(status)":
                _set(spec, change.path, change.after)
        writes.append(
            replace(
                rec,
                spec=spec,
                status=str(seen.get("status") or rec.status or ""),
                observed=seen.get("object") or rec.observed,
                outputs={**rec.outputs, **(seen.get("outputs") or {})},
                observed_at=iso_utc(now),
            )
        )
    return writes, forgets


def _observed(obs: Observation) -> dict[str, Any]:
    return {
        "remote_id": obs.remote_id,
        "phase": obs.phase.value,
        "status": obs.status,
        "outputs": obs.outputs,
        "object": obs.object,
        "message": obs.message,
    }


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    else:
        out[prefix] = data
    return out


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        inner = data.get(part)
        inner = dict(inner) if isinstance(inner, dict) else {}
        data[part] = inner
        data = inner
    data[parts[-1]] = value


__all__ = ["MODE", "accept", "make_refresh_only_plan"]
