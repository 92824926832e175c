"""DashScope behind the engine's `ProviderAdapter` interface.

Kinds → API (providers.md §1):
- Dataset          → a zip on the OpenAI-compatible files API; the file name carries the content
                     hash (`<name>-<hash16>.zip`), which is how discovery finds it again.
- FineTune         → a `/fine-tunes` job; found again by (model, training/validation file ids,
                     hyper-parameters) — DashScope has no idempotency key.
- CheckpointExport → `export/{checkpoint}?model_name=` on the job; found again by the display
                     name we gave it. DashScope has no API to delete an exported model: deleting
                     a CheckpointExport only forgets it (the job's deletion removes its checkpoints).
- Deployment       → `/deployments`; `deployed_model` = model_name[-suffix] is its natural key,
                     and a 409 on create is a cheap "it already exists" check.
Reads are batched through the list endpoints (files: 1 request per 2,000; jobs: per 100;
deployments: per 200); checkpoints have no account-wide list, so exports cost one request per job.
"""

from __future__ import annotations

import calendar
import contextlib
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.state import ResourceRecord
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.dashscope.types import (
    Checkpoint,
    Deployment,
    DeploymentCreate,
    FileObject,
    FineTuneCreate,
    FineTuneJob,
)
from reconciler.providers.errors import ConflictError, InvalidRequestError, NotFoundError, ServerError
from reconciler.providers.interface import Desired, Observation, Phase
from reconciler.providers.packaging import upload_name, zipped

_JOB_PHASES = {
    "SUCCEEDED": Phase.READY, "FAILED": Phase.FAILED, "CANCELED": Phase.CANCELED,
    "PENDING": Phase.PENDING, "QUEUING": Phase.PENDING, "RUNNING": Phase.PENDING, "CANCELING": Phase.PENDING,
}
_EXPORT_PHASES = {"SUCCEEDED": Phase.READY, "FAILED": Phase.FAILED, "UNSUPPORTED": Phase.FAILED,
                  "PENDING": Phase.PENDING, "PROCESSING": Phase.PENDING}
_DEPLOYMENT_PHASES = {
    "RUNNING": Phase.READY, "PENDING": Phase.PENDING, "DEPLOYING": Phase.PENDING, "UPDATING": Phase.PENDING,
    "SCALING": Phase.PENDING, "ARREARS_RECOVERING": Phase.PENDING,
    "WAIT_PRE_PAID_BILLING_TO_DEPLOYING": Phase.PENDING, "WAIT_PRE_PAID_BILLING_TO_SCALING": Phase.PENDING,
    "FAILED": Phase.FAILED, "UPDATING_FAILED": Phase.FAILED, "STOPPED": Phase.FAILED, "ARREARS_DOWN": Phase.FAILED,
    "DELETING": Phase.DELETING, "OFFLINING": Phase.DELETING,
}
_FILE_PHASES = {"processed": Phase.READY, "uploaded": Phase.PENDING, "processing": Phase.PENDING,
                "error": Phase.FAILED}


# DashScope formats times without a zone ('YYYY-MM-DD HH:MM:SS'); they are China Standard Time
# (providers.md §1.4 [inf]). Reading them as UTC would make a job look 8 hours younger.
CHINA_UTC_OFFSET_S = 8 * 3600


def _epoch(text: str | None) -> float | None:
    """'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DDTHH:MM:SS' in China time → epoch seconds."""
    if not text:
        return None
    head = text[:19]
    if len(head) == 19 and head[10] in " T":  # the usual shape: fromisoformat is ~40x faster than strptime
        try:
            return datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp() - CHINA_UTC_OFFSET_S
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return float(calendar.timegm(time.strptime(text[:19], fmt)) - CHINA_UTC_OFFSET_S)
        except ValueError:
            continue
    return None


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True, by_alias=True)


def _same_number(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


class DashScopeAdapter:
    type = "dashscope"
    # For the README's provider table (generated from here and tested to be current).
    CAPABILITIES: dict[str, str] = {
        "Dataset": "zip uploaded to the OpenAI-compatible files API",
        "FineTune": "`/api/v1/fine-tunes` job (Wan i2v/kf2v LoRA)",
        "CheckpointExport": "`export/{checkpoint}` + `/checkpoints`",
        "Deployment": "`/api/v1/deployments` (scale in place)",
        "Refresh": "batched: files list, jobs list (100/page), deployments list (200/page); checkpoints per job",
        "Found again without state by": "file name with content hash; model + file ids + hyper-parameters; export name; deployed_model",
        "Ambiguous create": "looked up, never re-sent blindly",
        "Cancel a running job": "`POST /fine-tunes/{id}/cancel`",
        "Delete": "files, jobs (terminal), deployments; exports are forgotten (no API)",
        "Outputs": "`file_id`, `job_id`, `finetuned_output`, export `model_name`, `deployed_model`",
    }

    def __init__(self, name: str, client: DashScopeClient, *, clock: Clock = SYSTEM_CLOCK,
                 parallelism: int = 10) -> None:
        self.name = name
        self.client = client
        self.clock = clock
        self.parallelism = parallelism

    # ------------------------------------------------------------------ observations
    def _file_obs(self, f: FileObject) -> Observation:
        status = f.status or "processed"
        return Observation(remote_id=f.id, phase=_FILE_PHASES.get(status, Phase.PENDING), status=status,
                           object=_dump(f), outputs={"file_id": f.id, "filename": f.filename},
                           created_at=float(f.created_at) if f.created_at else None,
                           message=str(f.status_details) if status == "error" and f.status_details else None)

    def _job_obs(self, j: FineTuneJob) -> Observation:
        outputs: dict[str, Any] = {"job_id": j.job_id}
        if j.finetuned_output:
            outputs["finetuned_output"] = j.finetuned_output
        progress = "queued: one training job runs at a time per account" if j.status == "QUEUING" else None
        return Observation(remote_id=j.job_id, phase=_JOB_PHASES.get(j.status, Phase.PENDING), status=j.status,
                           object=_dump(j), outputs=outputs, created_at=_epoch(j.create_time),
                           message=j.message if j.status in ("FAILED", "CANCELED") else None, progress=progress)

    def _export_obs(self, job_id: str, c: Checkpoint) -> Observation:
        status = c.status or "PENDING"
        expire = _epoch(c.expire_time)
        facts: dict[str, Any] = {}
        if expire is not None:
            facts = {"expire_time": c.expire_time, "expired": self.clock.now() >= expire}
        outputs: dict[str, Any] = {"job_id": job_id, "checkpoint": c.checkpoint}
        if c.model_name:
            outputs["model_name"] = c.model_name
        message = "this checkpoint cannot be exported (UNSUPPORTED)" if status == "UNSUPPORTED" else None
        return Observation(remote_id=f"{job_id}:{c.checkpoint}", phase=_EXPORT_PHASES.get(status, Phase.PENDING),
                           status=status, object=_dump(c), outputs=outputs, created_at=_epoch(c.create_time),
                           facts=facts, message=message)

    def _deployment_obs(self, d: Deployment) -> Observation:
        obj = _dump(d)
        live: dict[str, Any] = {}
        if d.plan and d.plan != "lora" and obj.get("capacity") is not None:
            live["capacity"] = obj["capacity"]  # for plan=lora capacity is ignored by the provider
        message = {"STOPPED": "the deployment is STOPPED", "ARREARS_DOWN": "the account is in arrears"}.get(d.status)
        return Observation(remote_id=d.deployed_model, phase=_DEPLOYMENT_PHASES.get(d.status, Phase.PENDING),
                           status=d.status, object=obj,
                           outputs={"deployed_model": d.deployed_model, "model_name": d.model_name},
                           created_at=_epoch(d.gmt_create), live_fields=live, message=message)

    @staticmethod
    def _gone(remote_id: str | None) -> Observation:
        return Observation(remote_id=remote_id or "", phase=Phase.GONE, status="NOT_FOUND")

    # ------------------------------------------------------------------ read
    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        by_kind: dict[str, list[ResourceRecord]] = defaultdict(list)
        for r in records:
            by_kind[r.kind].append(r)
        out: dict[str, Observation] = {}
        if by_kind.get("Dataset"):
            files = {f.id: f for f in self.client.iter_files(purpose="fine-tune")}
            for r in by_kind["Dataset"]:
                f = files.get(r.remote_id or "")
                out[r.address] = self._file_obs(f) if f else self._gone(r.remote_id)
        jobs: dict[str, FineTuneJob] | None = None
        if by_kind.get("FineTune"):
            jobs = self._jobs_by_id(by_kind["FineTune"])
            for r in by_kind["FineTune"]:
                j = jobs.get(r.remote_id or "")
                out[r.address] = self._job_obs(j) if j else self._gone(r.remote_id)
        if by_kind.get("CheckpointExport"):
            out.update(self._read_exports(by_kind["CheckpointExport"], jobs or {}))
        if by_kind.get("Deployment"):
            deployments = {d.deployed_model: d for d in self.client.iter_deployments()}
            for r in by_kind["Deployment"]:
                d = deployments.get(r.remote_id or "")
                out[r.address] = self._deployment_obs(d) if d else self._gone(r.remote_id)
        return out

    def _jobs_by_id(self, records: list[ResourceRecord]) -> dict[str, FineTuneJob]:
        # One GET each is cheaper than paging the whole account when we track only a few jobs.
        if len(records) <= 2:
            found: dict[str, FineTuneJob] = {}
            for r in records:
                if r.remote_id:
                    with contextlib.suppress(NotFoundError):
                        found[r.remote_id] = self.client.get_fine_tune(r.remote_id)
            return found
        return {j.job_id: j for j in self.client.iter_fine_tunes()}

    def _read_exports(self, records: list[ResourceRecord], jobs: dict[str, FineTuneJob]) -> dict[str, Observation]:
        """Exports, batched as far as the API allows.

        There is no account-wide checkpoint list, so an export costs one request per job — except
        one that already SUCCEEDED: an exported model never changes while its job exists, and its
        expiry is known from the recorded `expire_time`. Its job's presence in the jobs list
        (paged, 100 per request) is enough.
        """
        out: dict[str, Observation] = {}
        settled = [r for r in records if r.status == "SUCCEEDED" and r.observed]
        if settled:
            if any((r.remote_id or "").partition(":")[0] not in jobs for r in settled):
                jobs = {j.job_id: j for j in self.client.iter_fine_tunes()}
            for r in settled:
                job_id = (r.remote_id or "").partition(":")[0]
                if job_id in jobs:
                    out[r.address] = self._export_obs(job_id, Checkpoint.model_validate(r.observed))
        by_job: dict[str, list[ResourceRecord]] = defaultdict(list)
        for r in records:
            if r.address not in out:
                by_job[(r.remote_id or "").partition(":")[0]].append(r)
        checkpoints = self._checkpoints_of(by_job)
        for job_id, recs in by_job.items():
            cps = checkpoints.get(job_id)
            for r in recs:
                name = (r.remote_id or "").partition(":")[2]
                c = next((c for c in cps or [] if c.checkpoint == name), None)
                out[r.address] = self._export_obs(job_id, c) if c else self._gone(r.remote_id)
        return out

    def _checkpoints_of(self, job_ids: Iterable[str]) -> dict[str, list[Checkpoint] | None]:
        def one(job_id: str) -> tuple[str, list[Checkpoint] | None]:
            try:
                return job_id, self.client.list_checkpoints(job_id)
            except NotFoundError:
                return job_id, None

        ids = [j for j in job_ids if j]
        with ThreadPoolExecutor(max_workers=max(1, min(self.parallelism, len(ids) or 1))) as pool:
            return dict(pool.map(one, ids))

    def _queue_position(self, obs: Observation) -> str:
        """'queued: 2 jobs ahead' — one training job runs at a time per account (one list request)."""
        mine = (obs.created_at or 0.0, obs.remote_id)
        ahead = sum(1 for j in self.client.iter_fine_tunes()
                    if j.job_id != obs.remote_id and j.status in ("PENDING", "QUEUING", "RUNNING")
                    and (_epoch(j.create_time) or 0.0, j.job_id) < mine)
        return f"queued: {ahead} job{'s' if ahead != 1 else ''} ahead (one training job runs at a time per account)"

    def read(self, record: ResourceRecord) -> Observation:
        rid = record.remote_id or ""
        try:
            if record.kind == "Dataset":
                return self._file_obs(self.client.get_file(rid))
            if record.kind == "FineTune":
                obs = self._job_obs(self.client.get_fine_tune(rid))
                if obs.status == "QUEUING":
                    obs.progress = self._queue_position(obs)
                return obs
            if record.kind == "CheckpointExport":
                job_id, _, name = rid.partition(":")
                c = next((c for c in self.client.list_checkpoints(job_id) if c.checkpoint == name), None)
                return self._export_obs(job_id, c) if c else self._gone(rid)
            if record.kind == "Deployment":
                return self._deployment_obs(self.client.get_deployment(rid))
        except NotFoundError:
            return self._gone(rid)
        raise ValueError(f"dashscope cannot serve {record.kind}")

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def _file_ids(desired: Desired, field: str) -> list[str]:
        return [str(desired.inputs[f"Dataset/{n}"]["file_id"]) for n in desired.spec.get(field) or []]

    @staticmethod
    def _model_name(desired: Desired) -> str:
        spec = desired.spec
        if spec.get("checkpoint_export"):
            return str(desired.inputs[f"CheckpointExport/{spec['checkpoint_export']}"]["model_name"])
        return str(desired.inputs[f"FineTune/{spec['fine_tune']}"]["finetuned_output"])

    @classmethod
    def _deployed_model(cls, desired: Desired) -> str:
        suffix = desired.spec.get("suffix")
        return cls._model_name(desired) + (f"-{suffix}" if suffix else "")

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        spec = desired.spec
        if desired.kind == "Dataset":
            return {"filename": upload_name(desired.name, desired.content_digest or "")}
        if desired.kind == "FineTune":
            return {"model": spec["model"], "training_file_ids": self._file_ids(desired, "training_datasets"),
                    "validation_file_ids": self._file_ids(desired, "validation_datasets"),
                    "hyper_parameters": spec.get("hyper_parameters")}
        if desired.kind == "CheckpointExport":
            job_id = desired.inputs[f"FineTune/{spec['fine_tune']}"]["job_id"]
            return {"job_id": job_id, "checkpoint": spec["checkpoint"], "model_name": spec["model_name"]}
        return {"deployed_model": self._deployed_model(desired)}

    # ------------------------------------------------------------------ discovery
    def discover(self, desired: list[Desired], claimed: set[str]) -> dict[str, Observation]:
        return self._match(desired, claimed, since=None)

    def find(self, desired: Desired, since: float, claimed: set[str]) -> Observation | None:
        return self._match([desired], claimed, since=since).get(desired.address)

    def _match(self, desired: list[Desired], claimed: set[str], since: float | None) -> dict[str, Observation]:
        out: dict[str, Observation] = {}
        by_kind: dict[str, list[Desired]] = defaultdict(list)
        for d in desired:
            by_kind[d.kind].append(d)
        if by_kind.get("Dataset"):
            files = [f for f in self.client.iter_files(purpose="fine-tune") if f.id not in claimed]
            for d in by_kind["Dataset"]:
                name = upload_name(d.name, d.content_digest or "")
                hits = [f for f in files if f.filename == name and f.status != "error"
                        and (since is None or (f.created_at or 0) >= since)]
                if hits:
                    best = max(hits, key=lambda f: f.created_at or 0)
                    out[d.address] = self._file_obs(best)
                    claimed.add(best.id)
        if by_kind.get("FineTune"):
            jobs = [j for j in self.client.iter_fine_tunes() if j.job_id not in claimed]
            for d in by_kind["FineTune"]:
                fp = self.fingerprint(d)
                hits = [j for j in jobs if self._job_matches(j, fp) and j.status not in ("FAILED", "CANCELED", "CANCELING")
                        and (since is None or (_epoch(j.create_time) or 0) >= since)]
                if hits:
                    best = max(hits, key=lambda j: (_epoch(j.create_time) or 0, j.job_id))
                    out[d.address] = self._job_obs(best)
                    claimed.add(best.job_id)
        if by_kind.get("CheckpointExport"):
            wanted = {d.address: self.fingerprint(d) for d in by_kind["CheckpointExport"]}
            checkpoints = self._checkpoints_of({fp["job_id"] for fp in wanted.values()})
            for address, fp in wanted.items():
                names = self._display_names(fp)
                for c in checkpoints.get(fp["job_id"]) or []:
                    if c.checkpoint == fp["checkpoint"] and c.model_display_name in names:
                        out[address] = self._export_obs(fp["job_id"], c)
        if by_kind.get("Deployment"):
            for d in by_kind["Deployment"]:
                name = self._deployed_model(d)
                if name in claimed:
                    continue
                try:
                    dep = self.client.get_deployment(name)
                except NotFoundError:
                    continue
                if dep.status not in ("DELETING", "OFFLINING"):
                    out[d.address] = self._deployment_obs(dep)
        return out

    @staticmethod
    def _job_matches(job: FineTuneJob, fp: Mapping[str, Any]) -> bool:
        if job.model != fp["model"] and job.base_model != fp["model"]:
            return False
        if sorted(job.training_file_ids) != sorted(fp["training_file_ids"]):
            return False
        if sorted(job.validation_file_ids or []) != sorted(fp["validation_file_ids"]):
            return False
        wanted = fp.get("hyper_parameters") or {}
        # the provider echoes back a subset of the hyper-parameters; every echoed one must agree
        return all(_same_number(v, wanted.get(k)) for k, v in job.hyper_parameters.items() if k in wanted)

    # ------------------------------------------------------------------ mutate
    def create(self, desired: Desired) -> Observation:
        spec = desired.spec
        if desired.kind == "Dataset":
            if not desired.source_path:
                raise ValueError(f"{desired.address}: no local source to upload")
            with zipped(desired.source_path) as path:
                f = self.client.upload_file(path, filename=upload_name(desired.name, desired.content_digest or ""),
                                            purpose="fine-tune")
            return self._file_obs(f)
        if desired.kind == "FineTune":
            body = FineTuneCreate(
                model=spec["model"], training_file_ids=self._file_ids(desired, "training_datasets"),
                validation_file_ids=self._file_ids(desired, "validation_datasets") or None,
                training_type=spec.get("training_type"), hyper_parameters=spec.get("hyper_parameters"))
            return self._job_obs(self.client.create_fine_tune(body))
        if desired.kind == "CheckpointExport":
            fp = self.fingerprint(desired)
            self._export(fp)
            c = next((c for c in self.client.list_checkpoints(fp["job_id"]) if c.checkpoint == fp["checkpoint"]), None)
            if c is None:
                raise NotFoundError(f"checkpoint {fp['checkpoint']} not found on job {fp['job_id']}",
                                    provider="dashscope", operation="export checkpoint")
            return self._export_obs(fp["job_id"], c)
        if desired.kind == "Deployment":
            body = DeploymentCreate(
                model_name=self._model_name(desired), plan=spec.get("plan") or "lora",
                capacity=int(spec.get("capacity") or 1), aigc_config=spec.get("aigc_config"),
                name=spec.get("name"), suffix=spec.get("suffix"))
            try:
                return self._deployment_obs(self.client.create_deployment(body))
            except ConflictError:
                # 409: it exists. Ours if it serves the model we asked for (e.g. a lost response).
                existing = self.client.get_deployment(self._deployed_model(desired))
                if existing.model_name == body.model_name and existing.status not in ("DELETING", "OFFLINING"):
                    return self._deployment_obs(existing)
                raise
        raise ValueError(f"dashscope cannot serve {desired.kind}")

    @staticmethod
    def _display_names(fp: Mapping[str, Any]) -> tuple[str, str]:
        """The name we ask for, and the fallback when it is taken.

        Export names are globally unique, and an export cannot be deleted: after a retrain the
        previous job's export keeps the name until that job is deleted. The fallback carries the
        new job's id suffix, so it is deterministic (and discoverable) for this job.
        """
        return fp["model_name"], f"{fp['model_name']}-{str(fp['job_id'])[-4:]}"

    def _export(self, fp: Mapping[str, Any]) -> None:
        preferred, fallback = self._display_names(fp)
        for name in (preferred, fallback):
            try:
                submitted = self.client.export_checkpoint(fp["job_id"], fp["checkpoint"], model_name=name)
            except InvalidRequestError as e:
                if name == preferred and "exist" in e.message.lower():
                    continue
                raise
            if not submitted:
                # `output: false` means "not submitted, retry" (providers.md §1.5)
                raise ServerError("export was not submitted (output: false); retry later",
                                  provider="dashscope", operation="export checkpoint")
            return

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        if record.kind != "Deployment":
            raise ValueError(f"{record.kind} has no in-place update on dashscope")
        return self._deployment_obs(self.client.scale_deployment(record.remote_id or "", int(desired.spec["capacity"])))

    def cancel(self, record: ResourceRecord) -> Observation:
        self.client.cancel_fine_tune(record.remote_id or "")
        return self._job_obs(self.client.get_fine_tune(record.remote_id or ""))

    def delete(self, record: ResourceRecord) -> Observation | None:
        rid = record.remote_id or ""
        try:
            if record.kind == "Dataset":
                self.client.delete_file(rid)
            elif record.kind == "FineTune":
                self.client.delete_fine_tune(rid)
            elif record.kind == "Deployment":
                # DELETING now, 404 later: the caller waits before re-using the deployed_model name
                obs = self._deployment_obs(self.client.delete_deployment(rid))
                return obs if obs.phase is Phase.DELETING else None
            # CheckpointExport: DashScope has no delete for an exported model (see module note)
        except NotFoundError:
            return None
        return None

    def can_create_before_destroy(self, desired: Desired, record: ResourceRecord) -> bool:
        if record.kind != "Deployment":
            return True
        return self._deployed_model(desired) != record.remote_id
