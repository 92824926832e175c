"""DashScope behind the engine's `ProviderAdapter` interface.

Kinds → API (providers.md §1):
- Dataset          → a zip on the OpenAI-compatible files API; the file name carries the content
                     hash (`<name>-<hash16>.zip`), which is how discovery finds it again.
- FineTune         → a `/fine-tunes` job; found again by (model, training/validation file ids,
                     the hyper-parameters the job echoes) — DashScope has no idempotency key.
- CheckpointExport → `export/{checkpoint}?model_name=` on the job; found again by the display
                     name we gave it. DashScope has no API to delete an exported model: deleting
                     a CheckpointExport only forgets it (the job's deletion removes its checkpoints).
- Deployment       → `/deployments`; looked up by listing and matching `model_name` (+ suffix),
                     never by a computed id: with a suffix the server inserts 8 hex characters
                     (`<model_name>-<8 hex>-<suffix>`). The remote id is `deployed_model` as returned.
Reads are batched through the list endpoints (files: 1 request per 2,000; jobs: per 100;
deployments: per 200); checkpoints have no account-wide list, so exports cost one request per job.

Recovery and discovery read only documented fields (DESIGN.md §3b, providers.md §4b):
- hyper-parameters may be echoed as numbers or as strings ("2.0E-5", "1.6e-5", "400"), and only
  some of them (seed 002 echoes five): echoed values compare numerically, missing ones are not
  evidence either way, and a job whose echoed value differs is never adopted;
- `finetuned_output` may be absent until the job SUCCEEDED, an exported checkpoint's names until
  its export SUCCEEDED; nothing here needs them earlier;
- a checkpoint row is PENDING both when never exported and when queued: only the engine's journal
  knows we asked, so `find` treats PENDING as "not known yet" and `create` reads the row when an
  export is refused (see `_export_checkpoint`);
- more than one live, unclaimed object that fits → `AmbiguousMatch`, never a guess.
"""

from __future__ import annotations

import calendar
import contextlib
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.state import ResourceRecord
from reconciler.providers.dashscope import samples
from reconciler.providers.dashscope.checkpoint_choice import REASONS, CheckpointChoice, choose, is_selector
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.dashscope.facts import (
    DASHSCOPE_FACTS,
    DEPLOYMENT_PHASES,
    EXPORT_PHASES,
    FILE_PHASES,
    JOB_PHASES,
)
from reconciler.providers.dashscope.types import (
    Checkpoint,
    Deployment,
    DeploymentCreate,
    FileObject,
    FineTuneCreate,
    FineTuneJob,
)
from reconciler.providers.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermanentError,
    ServerError,
)
from reconciler.providers.interface import AmbiguousMatch, Desired, Observation, Phase
from reconciler.providers.packaging import upload_name, zipped

# DashScope formats times without a zone ('YYYY-MM-DD HH:MM:SS'); they are China Standard Time
# (providers.md §1.4 [inf]). Reading them as UTC would make a job look 8 hours younger.
CHINA_UTC_OFFSET_S = 8 * 3600


def _selector(record: ResourceRecord) -> str | None:
    """The checkpoint value the record was applied with (a selector, or checkpoint-N)."""
    value = (record.spec or {}).get("checkpoint")
    return str(value) if value else None


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


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True, by_alias=True)


# A decimal number as text: "400", "-3", "0.9", ".5", "2.", "2.0E-5", "1.6e-5", "2e-05". Not
# "nan", "inf", "1_000" or hex, which Python's float() would also take.
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _as_number(value: Any) -> float | None:
    """A hyper-parameter as a number, whether echoed as one or as its text; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        number = float(value.strip())
        return number if math.isfinite(number) else None
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def same_hyper_parameter(echoed: Any, wanted: Any) -> bool:
    """Whether a job's echoed hyper-parameter is the one we asked for.

    DashScope echoes numbers in some documents and strings in others (providers.md §4b), so two
    numbers, or a number and its text, compare numerically (2e-05 == "2.0E-5" == "2e-5",
    400 == "400" == "400.0"); anything else — booleans, words — compares as text
    (True == "true", "cosine" == "cosine").
    """
    a, b = _as_number(echoed), _as_number(wanted)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return _as_text(echoed) == _as_text(wanted)


_DELETING = frozenset({"DELETING", "OFFLINING"})
_HEX8 = r"[0-9A-Fa-f]{8}"


def deployed_model_fits(deployed_model: str, model_name: str, suffix: str | None) -> bool:
    """Whether a `deployed_model` is what DashScope names a deployment of `model_name` (+ `suffix`).

    Without a suffix it is the model name; with one, `<model_name>-<8 hex>-<suffix>` [doc]
    (`emo` + `sample01` → `emo-35b3f106-sample01`), or `<model_name>-<suffix>` (the permissive
    sandbox's shape). The caller also requires the listed `model_name` to be ours, and two
    candidates are an `AmbiguousMatch`, so accepting both shapes never picks a stranger.
    """
    if not suffix:
        return deployed_model == model_name
    if deployed_model == f"{model_name}-{suffix}":
        return True
    return re.fullmatch(f"{re.escape(model_name)}-{_HEX8}-{re.escape(suffix)}", deployed_model) is not None


class DashScopeAdapter:
    type = "dashscope"
    # For the README's provider table (generated from here and tested to be current).
    CAPABILITIES: dict[str, str] = {
        "Dataset": "zip uploaded to the OpenAI-compatible files API",
        "FineTune": "`/api/v1/fine-tunes` job (Wan i2v/kf2v LoRA)",
        "CheckpointExport": "`export/{checkpoint}` + `/checkpoints`",
        "Deployment": "`/api/v1/deployments` (plan mu scales in place; plan lora: capacity 1, never scaled)",
        "Sample": "a `video-synthesis` task of the Deployment's model (i2v or kf2v); a lost submit is not findable "
        "(no task list): it stops with `import` / `state resolve`",
        "Refresh": "batched: files list, jobs list (100/page), deployments list (200/page); checkpoints per job",
        "Found again without state by": (
            "file name with content hash; model + file ids + echoed hyper-parameters; "
            "export display name (once SUCCEEDED); model_name + suffix, by listing"
        ),
        "Ambiguous create": "looked up, never re-sent blindly",
        "Cancel a running job": "`POST /fine-tunes/{id}/cancel`",
        "Delete": "files, jobs (terminal), deployments; exports are forgotten (no API)",
        "Outputs": "`file_id`, `job_id`, `finetuned_output`, export `model_name`, `deployed_model`",
    }

    def __init__(
        self, name: str, client: DashScopeClient, *, clock: Clock = SYSTEM_CLOCK, parallelism: int = 10
    ) -> None:
        self.name = name
        self.client = client
        self.clock = clock
        self.parallelism = parallelism
        self._choices: dict[tuple[str, str], CheckpointChoice] = {}  # (job_id, selector) → resolved

    # ------------------------------------------------------------------ observations
    def _file_obs(self, f: FileObject) -> Observation:
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

    def _job_obs(self, j: FineTuneJob) -> Observation:
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
            created_at=_epoch(j.create_time),
            message=j.message if j.status in ("FAILED", "CANCELED") else None,
            progress=progress,
        )

    def _export_obs(self, job_id: str, c: Checkpoint, selector: str | None = None) -> Observation:
        status = c.status or "PENDING"
        expire = _epoch(c.expire_time)
        facts: dict[str, Any] = {}
        if expire is not None:
            facts = {"expire_time": c.expire_time, "expired": self.clock.now() >= expire}
        outputs: dict[str, Any] = {"job_id": job_id, "checkpoint": c.checkpoint}
        if selector is not None and is_selector(selector):
            # recorded, so `reconciler output` says which checkpoint the selector chose, and why
            outputs["checkpoint_choice"] = CheckpointChoice(
                selector, c.checkpoint, REASONS[selector]
            ).describe()
        if c.model_name:
            outputs["model_name"] = c.model_name
        message = "this checkpoint cannot be exported (UNSUPPORTED)" if status == "UNSUPPORTED" else None
        return Observation(
            remote_id=f"{job_id}:{c.checkpoint}",
            phase=EXPORT_PHASES.get(status, Phase.PENDING),
            status=status,
            object=_dump(c),
            outputs=outputs,
            created_at=_epoch(c.create_time),
            facts=facts,
            message=message,
        )

    def _deployment_obs(self, d: Deployment) -> Observation:
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
            created_at=_epoch(d.gmt_create),
            live_fields=live,
            message=message,
        )

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
        for r in by_kind.get("Sample", []):  # no task list exists: one GET per render
            out[r.address] = self._read_task(r)
        return out

    def _read_task(self, record: ResourceRecord) -> Observation:
        if not record.remote_id:
            return self._gone(None)
        return samples.task_obs(self.client.get_task(record.remote_id))

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

    def _read_exports(
        self, records: list[ResourceRecord], jobs: dict[str, FineTuneJob]
    ) -> dict[str, Observation]:
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
                    out[r.address] = self._export_obs(
                        job_id, Checkpoint.model_validate(r.observed), _selector(r)
                    )
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
                out[r.address] = self._export_obs(job_id, c, _selector(r)) if c else self._gone(r.remote_id)
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

    def _choose(self, job_id: str, selector: str) -> CheckpointChoice:
        """Resolve a checkpoint selector on `job_id` (no request for checkpoint-N).

        A resolved choice is kept for the adapter's life: a finished job's checkpoints and
        validation results do not change, so create, find and the journal agree.
        """
        if not is_selector(selector):
            return choose(selector, [], [])
        key = (job_id, selector)
        if key in self._choices:
            return self._choices[key]
        saved = [c.checkpoint for c in self.client.list_checkpoints(job_id)]
        previewed = self.client.validation_results(job_id) if selector == "latest-validated" else []
        choice = choose(selector, saved, previewed)
        if choice.checkpoint is not None:
            self._choices[key] = choice
        return choice

    def _queue_position(self, obs: Observation) -> str:
        """'queued: 2 jobs ahead' — one training job runs at a time per account (one list request)."""
        mine = (obs.created_at or 0.0, obs.remote_id)
        ahead = sum(
            1
            for j in self.client.iter_fine_tunes()
            if j.job_id != obs.remote_id
            and j.status in ("PENDING", "QUEUING", "RUNNING")
            and (_epoch(j.create_time) or 0.0, j.job_id) < mine
        )
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
                return self._export_obs(job_id, c, _selector(record)) if c else self._gone(rid)
            if record.kind == "Deployment":
                return self._deployment_obs(self.client.get_deployment(rid))
            if record.kind == "Sample":
                return self._read_task(record)
        except NotFoundError:
            return self._gone(rid)
        raise ValueError(f"dashscope cannot serve {record.kind}")

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def _file_ids(desired: Desired, field: str) -> list[str]:
        return [str(desired.inputs[f"Dataset/{n}"]["file_id"]) for n in desired.spec.get(field) or []]

    @staticmethod
    def _model_name(desired: Desired) -> str | None:
        """The model a Deployment serves, once its source has produced it (else None).

        A job's `finetuned_output` may be absent until it SUCCEEDED, an export's `model_name`
        until the export SUCCEEDED [doc]: discovery before then finds nothing, never guesses.
        """
        spec = desired.spec
        if spec.get("checkpoint_export"):
            source = desired.inputs.get(f"CheckpointExport/{spec['checkpoint_export']}") or {}
            name = source.get("model_name")
        else:
            source = desired.inputs.get(f"FineTune/{spec.get('fine_tune')}") or {}
            name = source.get("finetuned_output")
        return str(name) if name else None

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        spec = desired.spec
        if desired.kind == "Dataset":
            return {"filename": upload_name(desired.name, desired.content_digest or "")}
        if desired.kind == "FineTune":
            return {
                "model": spec["model"],
                "training_file_ids": self._file_ids(desired, "training_datasets"),
                "validation_file_ids": self._file_ids(desired, "validation_datasets"),
                "hyper_parameters": spec.get("hyper_parameters"),
            }
        if desired.kind == "CheckpointExport":
            job_id = desired.inputs[f"FineTune/{spec['fine_tune']}"]["job_id"]
            choice = self._choose(str(job_id), str(spec["checkpoint"]))
            if choice.checkpoint is None:
                raise PermanentError(
                    f"{desired.address}: checkpoint {choice.selector} names nothing on job {job_id}: "
                    f"{choice.reason}; export a checkpoint-N the job saved, or use latest",
                    provider="dashscope",
                    operation="export checkpoint",
                )
            fp = {"job_id": job_id, "checkpoint": choice.checkpoint, "model_name": spec["model_name"]}
            if is_selector(choice.selector):
                fp["selector"] = choice.selector
            return fp
        if desired.kind == "Sample":
            path, body = self._synthesis(desired)
            return {"path": path, "body": body}
        # never a computed deployed_model: with a suffix the server adds 8 hex characters
        return {"model_name": self._model_name(desired), "suffix": desired.spec.get("suffix")}

    @staticmethod
    def _synthesis(desired: Desired) -> tuple[str, dict[str, Any]]:
        model = samples.deployed_model(desired.inputs, str(desired.spec["deployment"]))
        if model is None:
            raise ValueError(
                f"{desired.address}: Deployment/{desired.spec['deployment']} is not deployed yet"
            )
        return samples.synthesis_request(desired.spec, model)

    # ------------------------------------------------------------------ discovery
    def discover(self, desired: list[Desired], claimed: set[str]) -> dict[str, Observation]:
        # a render cannot be recognised without its task id (no task list): rendered again
        return self._match([d for d in desired if d.kind != "Sample"], claimed, since=None)

    def find(self, desired: Desired, since: float, claimed: set[str]) -> Observation | None:
        if desired.kind == "Sample":
            raise PermanentError(
                samples.NOT_FINDABLE.format(address=desired.address),
                provider="dashscope",
                operation="find render",
            )
        return self._match([desired], claimed, since=since).get(desired.address)

    def _match(
        self, desired: list[Desired], claimed: set[str], since: float | None
    ) -> dict[str, Observation]:
        """Objects that fit each resource's fingerprint; `since` (epoch) narrows `find` to recent ones.

        Only live, unclaimed objects count, and one object is adopted for one resource. More than one
        candidate for a resource raises `AmbiguousMatch` at once, naming that resource (the engine
        discovers kind by kind, so the batch's other resources of that kind are looked up again
        when it asks again). `claimed` itself is never changed: a batch that raises leaves the
        caller's claims as they were, so asking again for the other resources finds them again.
        """
        claimed = set(claimed)  # this batch's own claims stay here
        out: dict[str, Observation] = {}
        by_kind: dict[str, list[Desired]] = defaultdict(list)
        for d in desired:
            by_kind[d.kind].append(d)
        if by_kind.get("Dataset"):
            files = [f for f in self.client.iter_files(purpose="fine-tune") if f.id not in claimed]
            for d in by_kind["Dataset"]:
                name = upload_name(d.name, d.content_digest or "")
                hits = [
                    f
                    for f in files
                    if f.filename == name
                    and f.status != "error"
                    and f.id not in claimed
                    and (since is None or (f.created_at or 0) >= since)
                ]
                if hits:
                    # the name carries the content hash: every hit holds the same bytes, any is ours
                    best = max(hits, key=lambda f: f.created_at or 0)
                    out[d.address] = self._file_obs(best)
                    claimed.add(best.id)
        if by_kind.get("FineTune"):
            jobs = [j for j in self.client.iter_fine_tunes() if j.job_id not in claimed]
            for d in by_kind["FineTune"]:
                fp = self.fingerprint(d)
                job_hits = [
                    j
                    for j in jobs
                    if j.job_id not in claimed
                    and self._job_matches(j, fp)
                    and j.status not in ("FAILED", "CANCELED", "CANCELING")
                    and (since is None or (_epoch(j.create_time) or 0) >= since)
                ]
                if len(job_hits) > 1:
                    wanted = fp.get("hyper_parameters") or {}
                    # every hyper-parameter we sent is echoed, and equal: one create that landed twice
                    same = all(set(wanted) <= set(j.hyper_parameters) for j in job_hits)
                    raise AmbiguousMatch(
                        d.address,
                        sorted(j.job_id for j in job_hits),
                        "several live jobs have this model, these training and validation files "
                        "and the hyper-parameters they echo",
                        twins=[self._job_obs(j) for j in job_hits] if same else None,
                    )
                if job_hits:
                    out[d.address] = self._job_obs(job_hits[0])
                    claimed.add(job_hits[0].job_id)
        if by_kind.get("CheckpointExport"):
            exports: dict[str, dict[str, Any]] = {}
            for d in by_kind["CheckpointExport"]:
                if (export_fp := self._export_fp_or_none(d)) is not None:
                    exports[d.address] = export_fp
            checkpoints = self._checkpoints_of({fp["job_id"] for fp in exports.values()})
            for address, fp in exports.items():
                rid = f"{fp['job_id']}:{fp['checkpoint']}"
                c = next(
                    (c for c in checkpoints.get(fp["job_id"]) or [] if c.checkpoint == fp["checkpoint"]), None
                )
                if c is None or rid in claimed:
                    continue
                ours = c.status == "SUCCEEDED" and c.model_display_name in self._display_names(fp)
                # After an ambiguous export (`find`), PROCESSING is ours too: the journal says we asked.
                # PENDING is "not known yet" — never exported and queued look the same [seed].
                if ours or (since is not None and c.status == "PROCESSING"):
                    out[address] = self._export_obs(fp["job_id"], c, fp.get("selector"))
                    claimed.add(rid)
        if by_kind.get("Deployment"):
            deployments = list(self.client.iter_deployments())
            for d in by_kind["Deployment"]:
                model = self._model_name(d)
                if model is None:
                    continue  # its model does not exist yet: nothing can serve it
                deployment_hits = self._deployment_candidates(
                    deployments, model, d.spec.get("suffix"), claimed, since
                )
                if len(deployment_hits) > 1:
                    raise AmbiguousMatch(
                        d.address,
                        sorted(h.deployed_model for h in deployment_hits),
                        f"several live deployments serve {model}"
                        + (f" with suffix {d.spec['suffix']}" if d.spec.get("suffix") else ""),
                    )
                if deployment_hits:
                    out[d.address] = self._deployment_obs(deployment_hits[0])
                    claimed.add(deployment_hits[0].deployed_model)
        return out

    @staticmethod
    def _deployment_candidates(
        deployments: Iterable[Deployment],
        model_name: str,
        suffix: str | None,
        claimed: set[str],
        since: float | None = None,
    ) -> list[Deployment]:
        """Live, unclaimed deployments of `model_name` named as DashScope names one with `suffix`."""
        hits = []
        for dep in deployments:
            if dep.status in _DELETING or dep.deployed_model in claimed or dep.model_name != model_name:
                continue
            if not deployed_model_fits(dep.deployed_model, model_name, suffix):
                continue
            created = _epoch(dep.gmt_create)
            if since is not None and created is not None and created < since:
                continue
            hits.append(dep)
        return hits

    @staticmethod
    def _job_matches(job: FineTuneJob, fp: Mapping[str, Any]) -> bool:
        if job.model != fp["model"] and job.base_model != fp["model"]:
            return False
        if sorted(job.training_file_ids) != sorted(fp["training_file_ids"]):
            return False
        if sorted(job.validation_file_ids or []) != sorted(fp["validation_file_ids"]):
            return False
        wanted = fp.get("hyper_parameters") or {}
        # The provider echoes a subset of the hyper-parameters (seed 002 shows five), as numbers or
        # as strings; every one it echoes must be the one we asked for. One it does not echo is no
        # evidence either way (and max_output_cnt is not compared: the seed's own examples disagree).
        return all(
            same_hyper_parameter(v, wanted[k])
            for k, v in job.hyper_parameters.items()
            if wanted.get(k) is not None
        )

    # ------------------------------------------------------------------ mutate
    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        """Submit the create. `claimed` (remote ids other resources own) guards the 409 look-up."""
        spec = desired.spec
        if desired.kind == "Dataset":
            if not desired.source_path:
                raise ValueError(f"{desired.address}: no local source to upload")
            with zipped(desired.source_path) as path:
                f = self.client.upload_file(
                    path,
                    filename=upload_name(desired.name, desired.content_digest or ""),
                    purpose="fine-tune",
                )
            return self._file_obs(f)
        if desired.kind == "FineTune":
            body = FineTuneCreate(
                model=spec["model"],
                training_file_ids=self._file_ids(desired, "training_datasets"),
                validation_file_ids=self._file_ids(desired, "validation_datasets") or None,
                training_type=spec.get("training_type"),
                hyper_parameters=spec.get("hyper_parameters"),
            )
            return self._job_obs(self.client.create_fine_tune(body))
        if desired.kind == "CheckpointExport":
            return self._export_checkpoint(desired)
        if desired.kind == "Deployment":
            return self._create_deployment(desired, claimed or set())
        if desired.kind == "Sample":
            endpoint, request = self._synthesis(desired)
            return samples.task_obs(self.client.submit_video_synthesis(endpoint, request))
        raise ValueError(f"dashscope cannot serve {desired.kind}")

    def _create_deployment(self, desired: Desired, claimed: set[str]) -> Observation:
        spec = desired.spec
        model = self._model_name(desired)
        if model is None:
            raise ValueError(
                f"{desired.address}: the model to deploy is not known yet (its source is not ready)"
            )
        suffix = spec.get("suffix")
        body = DeploymentCreate(
            model_name=model,
            plan=spec.get("plan") or "lora",
            capacity=int(spec.get("capacity") or 1),
            aigc_config=spec.get("aigc_config"),
            name=spec.get("name"),
            suffix=suffix,
        )
        try:
            return self._deployment_obs(self.client.create_deployment(body))
        except ConflictError as conflict:
            # 409: a live deployment already holds this model (+ suffix). Ours if exactly one live,
            # unclaimed deployment serves this model under this suffix (e.g. a lost response) —
            # found by listing, never by computing its id.
            hits = self._deployment_candidates(self.client.iter_deployments(), model, suffix, claimed)
            if len(hits) > 1:
                raise AmbiguousMatch(
                    desired.address,
                    sorted(h.deployed_model for h in hits),
                    f"DashScope answered 409 and several live deployments serve {model}",
                ) from conflict
            if hits:
                return self._deployment_obs(hits[0])
            holder = f"suffix {suffix}" if suffix else f"{model} without a suffix"
            raise ConflictError(
                f"{conflict.message} — no live deployment that could be this resource's holds {holder} (another "
                f"resource, another model with this suffix, or one still being deleted); give this Deployment a "
                f"different suffix, or delete the holder and apply again",
                status=conflict.status,
                code=conflict.code,
                request_id=conflict.request_id,
                provider=conflict.provider,
                operation=conflict.operation,
            ) from conflict

    def _export_fp_or_none(self, desired: Desired) -> dict[str, Any] | None:
        """The export's fingerprint, or None while its selector names no checkpoint yet (its job
        is still training): then nothing on the provider can be this export."""
        try:
            return self.fingerprint(desired)
        except PermanentError:
            return None

    @staticmethod
    def _display_names(fp: Mapping[str, Any]) -> tuple[str, str]:
        """The name we ask for, and the fallback when it is taken.

        Export names are globally unique, and an export cannot be deleted: after a retrain the
        previous job's export keeps the name until that job is deleted. The fallback carries the
        new job's id suffix, so it is deterministic (and discoverable) for this job.
        """
        return fp["model_name"], f"{fp['model_name']}-{str(fp['job_id'])[-4:]}"

    def _checkpoint_row(self, fp: Mapping[str, Any]) -> Checkpoint:
        c = next(
            (c for c in self.client.list_checkpoints(fp["job_id"]) if c.checkpoint == fp["checkpoint"]), None
        )
        if c is None:
            raise NotFoundError(
                f"checkpoint {fp['checkpoint']} not found on job {fp['job_id']}",
                provider="dashscope",
                operation="export checkpoint",
            )
        return c

    def _export_checkpoint(self, desired: Desired) -> Observation:
        """Export, idempotently and resumably: a refused export is settled by the checkpoint row.

        The row has no names before its export SUCCEEDED, and PENDING means both "never exported"
        and "queued" [seed] — so when DashScope refuses an export (its wording is undocumented) the
        row decides: PROCESSING is an export in flight, ours (the engine calls `create` only for a
        resource its journal says this run or an earlier one asked for); PENDING after the
        preferred name was refused is tried once more with the fallback name (the preferred may be
        held by a previous job's export), and PENDING after both were refused is an export queued
        earlier — ours, in flight; SUCCEEDED is ours only under one of our display names.
        """
        fp = self.fingerprint(desired)
        for name in self._display_names(fp):
            try:
                submitted = self.client.export_checkpoint(fp["job_id"], fp["checkpoint"], model_name=name)
            except InvalidRequestError as refusal:
                row = self._checkpoint_row(fp)
                if row.status == "PENDING" and name == fp["model_name"]:
                    continue
                return self._settle_refused_export(desired, fp, row, refusal)
            if not submitted:
                # `output: false` means "not submitted, retry" (providers.md §1.5)
                raise ServerError(
                    "export was not submitted (output: false); retry later",
                    provider="dashscope",
                    operation="export checkpoint",
                )
            return self._export_obs(fp["job_id"], self._checkpoint_row(fp), fp.get("selector"))
        raise AssertionError("unreachable: the fallback name settles or returns")  # pragma: no cover

    def _settle_refused_export(
        self, desired: Desired, fp: Mapping[str, Any], row: Checkpoint, refusal: InvalidRequestError
    ) -> Observation:
        obs = self._export_obs(fp["job_id"], row, fp.get("selector"))
        names = self._display_names(fp)
        if row.status == "SUCCEEDED":
            if row.model_display_name in names:
                return obs
            raise ConflictError(
                f"{fp['checkpoint']} of job {fp['job_id']} is already exported as '{row.model_display_name}' "
                f"(model {row.model_name}), not under this resource's name ('{names[0]}' or '{names[1]}'); "
                f"DashScope exports a checkpoint once and cannot delete an export. To use that export, set "
                f"model_name: {row.model_display_name} in {desired.address}; or export another checkpoint",
                status=refusal.status,
                code=refusal.code,
                request_id=refusal.request_id,
                provider="dashscope",
                operation="export checkpoint",
            ) from refusal
        if row.status == "PROCESSING":
            return obs
        if row.status == "PENDING":
            if obs.facts.get("expired"):
                raise refusal  # an expired checkpoint is refused for that; nothing is queued
            obs.progress = (
                "export requested earlier and queued (DashScope shows PENDING both for queued and "
                f"never exported; it refused a new request: {refusal.message})"
            )
            return obs
        raise refusal  # FAILED / UNSUPPORTED: the row says why it will not be exported

    def validation_previews(self, record: ResourceRecord) -> dict[str, list[dict[str, Any]]]:
        """Checkpoint -> its validation previews ({video_path, prompt, first_frame_path}) for a
        FineTune: `validation-results` lists the checkpoints whose preview succeeded, and
        `validation-details` pages through each one's videos (signed URLs, valid 24 h) [seed]."""
        if record.kind != "FineTune" or not record.remote_id:
            return {}
        out: dict[str, list[dict[str, Any]]] = {}
        for checkpoint in self.client.validation_results(record.remote_id):
            items: list[dict[str, Any]] = []
            page_no = 1
            while True:
                page = self.client.validation_details(
                    record.remote_id, checkpoint, page_no=page_no, page_size=10
                )
                items += [i.model_dump(exclude_none=True) for i in page.items]
                if not page.items or len(items) >= page.total:
                    break
                page_no += 1
            out[checkpoint] = items
        return out

    def download(self, url: str, destination: str) -> tuple[int, str]:
        """Validation preview media expire after 24 h: the gallery keeps a copy."""
        return self.client.download(url, destination)

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        if record.kind != "Deployment":
            raise ValueError(f"{record.kind} has no in-place update on dashscope")
        plan = (
            (record.observed or {}).get("plan")
            or record.spec.get("plan")
            or desired.spec.get("plan")
            or "lora"
        )
        if plan == "lora" or desired.spec.get("plan", "lora") == "lora":
            # capacity applies to plan mu only; for lora it is ignored and cannot be scaled [doc]
            return self.read(record)
        return self._deployment_obs(
            self.client.scale_deployment(record.remote_id or "", int(desired.spec["capacity"]))
        )

    def failure_logs(self, record: ResourceRecord, lines: int) -> list[str]:
        """The tail of a failed job's `/logs` (providers.md §1.4), for the plan and the apply summary."""
        if record.kind != "FineTune" or not record.remote_id:
            return []
        return self.client.fine_tune_log_tail(record.remote_id, lines)

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
                # DELETING now, 404 later: the caller waits before re-using the model and suffix
                obs = self._deployment_obs(self.client.delete_deployment(rid))
                return obs if obs.phase is Phase.DELETING else None
            # CheckpointExport: DashScope has no delete for an exported model (see module note)
        except NotFoundError:
            return None
        return None

    @classmethod
    def no_delete_api(cls, kind: str) -> str | None:
        return DASHSCOPE_FACTS.no_delete_api(kind)
