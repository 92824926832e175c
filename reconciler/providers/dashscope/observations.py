"""DashScope objects read as the engine's `Observation`s (files, jobs, exports, deployments).

Why a module of its own: every handler in `handlers.py` reports its objects this way, and the
phase tables (`facts.py`) and DashScope's zone-less times are read in one place only.
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from reconciler.clock import Clock
from reconciler.providers.dashscope.checkpoint_choice import REASONS, CheckpointChoice, is_selector
from reconciler.providers.dashscope.facts import DEPLOYMENT_PHASES, EXPORT_PHASES, FILE_PHASES, JOB_PHASES
from reconciler.providers.dashscope.types import Checkpoint, Deployment, FileObject, FineTuneJob
from reconciler.providers.interface import Observation, Phase

# DashScope formats times without a zone ('YYYY-MM-DD HH:MM:SS'); they are China Standard Time
# (providers.md §1.4 [inf]). Reading them as UTC would make a job look 8 hours younger.
CHINA_UTC_OFFSET_S = 8 * 3600
_NAIVE_EPOCH = datetime(1970, 1, 1)


def epoch(text: str | None) -> float | None:
    """'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DDTHH:MM:SS' in China time → epoch seconds."""
    if not text:
        return None
    head = text[:19]
    if len(head) == 19 and head[10] in " T":  # the usual shape: fromisoformat is ~40x faster than strptime
        try:
            parsed = datetime.fromisoformat(head)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:  # an offset within the first 19 characters: ignored, as ever
                parsed = parsed.replace(tzinfo=None)
            # the wall time read as UTC: the timedelta `.replace(tzinfo=UTC).timestamp()` takes the
            # total seconds of, without `replace`'s keyword parsing (a refresh reads every object's times)
            return (parsed - _NAIVE_EPOCH).total_seconds() - CHINA_UTC_OFFSET_S
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return float(calendar.timegm(time.strptime(text[:19], fmt)) - CHINA_UTC_OFFSET_S)
        except ValueError:
            continue
    return None


def _dump(model: BaseModel) -> dict[str, Any]:
    """`model.model_dump(mode="json", exclude_none=True, by_alias=True)`, straight from the model's
    serializer (what `model_dump` calls, minus its own per-call cost: a refresh dumps every object)."""
    dumped: dict[str, Any] = type(model).__pydantic_serializer__.to_python(
        model, mode="json", exclude_none=True, by_alias=True
    )
    return dumped


def gone(remote_id: str | None) -> Observation:
    return Observation(remote_id=remote_id or "", phase=Phase.GONE, status="NOT_FOUND")


def file_obs(f: FileObject) -> Observation:
    status = f.status or "processed"
    return Observation(
        remote_id=f.id,
        phase=FILE_PHASES.get(status, Phase.PENDING),
        status=status,
        object=_dump(f),
        outputs={"file_id": f.id, "filename": f.filename},
        created_at=float(f.created_at) if f.created_at else None,
        message=str(f.status_details) if status == "error" and f.status_details else None,
    )


def job_obs(j: FineTuneJob) -> Observation:
    outputs: dict[str, Any] = {"job_id": j.job_id}
    if j.finetuned_output:
        outputs["finetuned_output"] = j.finetuned_output
    progress = "queued: one training job runs at a time per account" if j.status == "QUEUING" else None
    return Observation(
        remote_id=j.job_id,
        phase=JOB_PHASES.get(j.status, Phase.PENDING),
        status=j.status,
        object=_dump(j),
        outputs=outputs,
        created_at=epoch(j.create_time),
        message=j.message if j.status in ("FAILED", "CANCELED") else None,
        progress=progress,
    )


def export_obs(clock: Clock, job_id: str, c: Checkpoint, selector: str | None = None) -> Observation:
    status = c.status or "PENDING"
    expire = epoch(c.expire_time)
    facts: dict[str, Any] = {}
    if expire is not None:
        facts = {"expire_time": c.expire_time, "expired": clock.now() >= expire}
    outputs: dict[str, Any] = {"job_id": job_id, "checkpoint": c.checkpoint}
    if selector is not None and is_selector(selector):
        # recorded, so `reconciler output` says which checkpoint the selector chose, and why
        outputs["checkpoint_choice"] = CheckpointChoice(selector, c.checkpoint, REASONS[selector]).describe()
    if c.model_name:
        outputs["model_name"] = c.model_name
    message = "this checkpoint cannot be exported (UNSUPPORTED)" if status == "UNSUPPORTED" else None
    return Observation(
        remote_id=f"{job_id}:{c.checkpoint}",
        phase=EXPORT_PHASES.get(status, Phase.PENDING),
        status=status,
        object=_dump(c),
        outputs=outputs,
        created_at=epoch(c.create_time),
        facts=facts,
        message=message,
    )


def deployment_obs(d: Deployment) -> Observation:
    obj = _dump(d)
    live: dict[str, Any] = {}
    if d.plan and d.plan != "lora" and obj.get("capacity") is not None:
        live["capacity"] = obj["capacity"]  # for plan=lora capacity is ignored by the provider
    message = {"STOPPED": "the deployment is STOPPED", "ARREARS_DOWN": "the account is in arrears"}.get(
        d.status
    )
    return Observation(
        remote_id=d.deployed_model,
        phase=DEPLOYMENT_PHASES.get(d.status, Phase.PENDING),
        status=d.status,
        object=obj,
        outputs={"deployed_model": d.deployed_model, "model_name": d.model_name},
        created_at=epoch(d.gmt_create),
        live_fields=live,
        message=message,
    )
