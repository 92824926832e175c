"""DashScope's resource handlers, one per kind, behind `DashScopeAdapter` (which only routes).

Why: each kind talks to a different part of the API — a Dataset is a file, a FineTune a job, a
CheckpointExport a row of its job's checkpoints, a Deployment a deployment, a Sample a synthesis
task — so each has its own read, find, create, update, cancel, delete and fingerprint
(`reconciler.providers.handlers.KindHandler`). What FineTune and CheckpointExport reads share is
one refresh's jobs (`JobsSeen`): the router hands the same one to both, so a refresh asks for the
jobs once. The API map and what "found again" may rely on are in `adapter.py`.
"""

from __future__ import annotations

import contextlib
import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reconciler.clock import Clock
from reconciler.models.state import ResourceRecord
from reconciler.providers.dashscope import samples
from reconciler.providers.dashscope.checkpoint_choice import CheckpointChoice, choose, is_selector
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.dashscope.matching import deployment_candidates, job_matches
from reconciler.providers.dashscope.observations import (
    deployment_obs,
    epoch,
    export_obs,
    file_obs,
    gone,
    job_obs,
)
from reconciler.providers.dashscope.types import Checkpoint, DeploymentCreate, FineTuneCreate, FineTuneJob
from reconciler.providers.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermanentError,
    ServerError,
)
from reconciler.providers.interface import AmbiguousMatch, Desired, Observation, Phase
from reconciler.providers.packaging import upload_name, upload_source


class JobsSeen:
    """The ids of the jobs one refresh has fetched so far, shared by its FineTune and
    CheckpointExport reads: an export whose job is already known costs no request. Ids only:
    an export asks whether its job still exists, and the jobs themselves (a model each, ~2 KB)
    are dropped a page at a time, once observed (`_observed_by_id`)."""

    def __init__(self) -> None:
        self.job_ids: set[str] = set()


def _observed_by_id(
    records: list[ResourceRecord],
    items: Iterable[tuple[str, Any]],
    observe: Callable[[Any], Observation],
    ids: set[str] | None = None,
) -> dict[str, Observation]:
    """Address -> observation of each record, from a listing walked once (page by page).

    What `{id: item for item in items}` then one observation per record gave, without holding
    every page's models at once: an item is observed as its page arrives, only if a record wants
    it, and dropped with its page (at 5,000 chains the models of every page were ~27 MB at the
    plan's peak). A later item with the same id wins, as in the dict. `ids` collects every id
    listed. Two records of one remote id get two observations, as before (one is never shared)."""
    wanted = {r.remote_id or "" for r in records}
    seen: dict[str, Observation] = {}
    for key, item in items:  # (id, object) pairs, as the listing gives them
        if ids is not None:
            ids.add(key)
        if key in wanted:
            seen[key] = observe(item)
    out: dict[str, Observation] = {}
    given: set[str] = set()
    for r in records:
        key = r.remote_id or ""
        obs = seen.get(key)
        if obs is None:
            out[r.address] = gone(r.remote_id)
        elif key in given:
            out[r.address] = copy.deepcopy(obs)  # (a second record of one object: its own copy)
        else:
            given.add(key)
            out[r.address] = obs
    return out


def _no_update(record: ResourceRecord) -> Observation:
    raise ValueError(f"{record.kind} has no in-place update on dashscope")


def _cancel_as_job(client: DashScopeClient, record: ResourceRecord) -> Observation:
    """`POST /fine-tunes/{id}/cancel`, then the job as it is now.

    Only jobs can be canceled; every kind answers `cancel` this way, as the adapter always has
    (for another kind the provider answers 404, which the engine reports as a failed cancel)."""
    client.cancel_fine_tune(record.remote_id or "")
    return job_obs(client.get_fine_tune(record.remote_id or ""))


def _file_ids(desired: Desired, field: str) -> list[str]:
    return [str(desired.inputs[f"Dataset/{n}"]["file_id"]) for n in desired.spec.get(field) or []]


class Files:
    """Dataset → a zip on the OpenAI-compatible files API, named `<name>-<hash16>.zip`."""

    def __init__(self, client: DashScopeClient) -> None:
        self.client = client

    def read(self, record: ResourceRecord) -> Observation:
        try:
            return file_obs(self.client.get_file(record.remote_id or ""))
        except NotFoundError:
            return gone(record.remote_id)

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        listed = ((f.id, f) for f in self.client.iter_files(purpose="fine-tune"))
        return _observed_by_id(records, listed, file_obs)

    def find(
        self, desired: list[Desired], owned: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        claimed = set(owned)  # this batch's own claims stay here
        out: dict[str, Observation] = {}
        files = [f for f in self.client.iter_files(purpose="fine-tune") if f.id not in claimed]
        for d in desired:
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
                out[d.address] = file_obs(best)
                claimed.add(best.id)
        return out

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        if not desired.source_path:
            raise ValueError(f"{desired.address}: no local source to upload")
        with upload_source(desired.source_path) as source:
            f = self.client.upload_file(
                source, filename=upload_name(desired.name, desired.content_digest or ""), purpose="fine-tune"
            )
        return file_obs(f)

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return _no_update(record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return _cancel_as_job(self.client, record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        with contextlib.suppress(NotFoundError):
            self.client.delete_file(record.remote_id or "")
        return None

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return {"filename": upload_name(desired.name, desired.content_digest or "")}


class Jobs:
    """FineTune → a `/fine-tunes` job, found again by model, file ids and echoed hyper-parameters."""

    def __init__(self, client: DashScopeClient) -> None:
        self.client = client

    def read(self, record: ResourceRecord) -> Observation:
        try:
            obs = job_obs(self.client.get_fine_tune(record.remote_id or ""))
            if obs.status == "QUEUING":
                obs.progress = self._queue_position(obs)
        except NotFoundError:
            return gone(record.remote_id)
        return obs

    def _queue_position(self, obs: Observation) -> str:
        """'queued: 2 jobs ahead' — one training job runs at a time per account (one list request)."""
        mine = (obs.created_at or 0.0, obs.remote_id)
        ahead = sum(
            1
            for j in self.client.iter_fine_tunes()
            if j.job_id != obs.remote_id
            and j.status in ("PENDING", "QUEUING", "RUNNING")
            and (epoch(j.create_time) or 0.0, j.job_id) < mine
        )
        return f"queued: {ahead} job{'s' if ahead != 1 else ''} ahead (one training job runs at a time per account)"

    def read_many(
        self, records: list[ResourceRecord], seen: JobsSeen | None = None
    ) -> dict[str, Observation]:
        """The jobs fetched are left in `seen`, for the same refresh's exports."""
        seen = seen if seen is not None else JobsSeen()
        seen.job_ids = set()
        return _observed_by_id(records, self._jobs_of(records), job_obs, seen.job_ids)

    def _jobs_of(self, records: list[ResourceRecord]) -> Iterator[tuple[str, FineTuneJob]]:
        # One GET each is cheaper than paging the whole account when we track only a few jobs.
        if len(records) <= 2:
            for r in records:
                if r.remote_id:
                    try:
                        job = self.client.get_fine_tune(r.remote_id)
                    except NotFoundError:
                        continue
                    yield r.remote_id, job  # by the id asked for, as ever
            return
        yield from ((j.job_id, j) for j in self.client.iter_fine_tunes())

    def find(
        self, desired: list[Desired], owned: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        claimed = set(owned)  # this batch's own claims stay here
        out: dict[str, Observation] = {}
        jobs = [j for j in self.client.iter_fine_tunes() if j.job_id not in claimed]
        for d in desired:
            fp = self.fingerprint(d)
            hits = [
                j
                for j in jobs
                if j.job_id not in claimed
                and job_matches(j, fp)
                and j.status not in ("FAILED", "CANCELED", "CANCELING")
                and (since is None or (epoch(j.create_time) or 0) >= since)
            ]
            if len(hits) > 1:
                wanted = fp.get("hyper_parameters") or {}
                # every hyper-parameter we sent is echoed, and equal: one create that landed twice
                same = all(set(wanted) <= set(j.hyper_parameters) for j in hits)
                raise AmbiguousMatch(
                    d.address,
                    sorted(j.job_id for j in hits),
                    "several live jobs have this model, these training and validation files "
                    "and the hyper-parameters they echo",
                    twins=[job_obs(j) for j in hits] if same else None,
                )
            if hits:
                out[d.address] = job_obs(hits[0])
                claimed.add(hits[0].job_id)
        return out

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        spec = desired.spec
        body = FineTuneCreate(
            model=spec["model"],
            training_file_ids=_file_ids(desired, "training_datasets"),
            validation_file_ids=_file_ids(desired, "validation_datasets") or None,
            training_type=spec.get("training_type"),
            hyper_parameters=spec.get("hyper_parameters"),
        )
        return job_obs(self.client.create_fine_tune(body))

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return _no_update(record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return _cancel_as_job(self.client, record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        with contextlib.suppress(NotFoundError):
            self.client.delete_fine_tune(record.remote_id or "")
        return None

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        spec = desired.spec
        return {
            "model": spec["model"],
            "training_file_ids": _file_ids(desired, "training_datasets"),
            "validation_file_ids": _file_ids(desired, "validation_datasets"),
            "hyper_parameters": spec.get("hyper_parameters"),
        }


def _selector(record: ResourceRecord) -> str | None:
    """The checkpoint value the record was applied with (a selector, or checkpoint-N)."""
    value = (record.spec or {}).get("checkpoint")
    return str(value) if value else None


def _display_names(fp: Mapping[str, Any]) -> tuple[str, str]:
    """The name we ask for, and the fallback when it is taken.

    Export names are globally unique, and an export cannot be deleted: after a retrain the
    previous job's export keeps the name until that job is deleted. The fallback carries the
    new job's id suffix, so it is deterministic (and discoverable) for this job.
    """
    return fp["model_name"], f"{fp['model_name']}-{str(fp['job_id'])[-4:]}"


def _recorded_any(record: ResourceRecord) -> bool:
    """`bool(record.observed)`, without decoding a stored record's text to say so."""
    text = record.observed_text()
    return True if text is not None and text.startswith('{"') else bool(record.observed)


def _recorded_checkpoint(record: ResourceRecord) -> Checkpoint:
    """`Checkpoint.model_validate(record.observed)`: from a stored record's text in one pass (its
    JSON is what the model reads either way), instead of a decode and then a validation."""
    text = record.observed_text()
    if text is not None and text.startswith('{"'):
        return Checkpoint.model_validate_json(text)
    return Checkpoint.model_validate(record.observed)


class Exports:
    """CheckpointExport → `export/{checkpoint}?model_name=` on its job; remote id `<job>:<checkpoint>`.

    DashScope cannot delete an exported model: deleting one only forgets it."""

    def __init__(self, client: DashScopeClient, clock: Clock, parallelism: int) -> None:
        self.client = client
        self.clock = clock
        self.parallelism = parallelism
        self._choices: dict[tuple[str, str], CheckpointChoice] = {}  # (job_id, selector) → resolved

    def _obs(self, job_id: str, c: Checkpoint, selector: str | None = None) -> Observation:
        return export_obs(self.clock, job_id, c, selector)

    def read(self, record: ResourceRecord) -> Observation:
        rid = record.remote_id or ""
        job_id, _, name = rid.partition(":")
        try:
            c = next((c for c in self.client.list_checkpoints(job_id) if c.checkpoint == name), None)
        except NotFoundError:
            return gone(rid)
        return self._obs(job_id, c, _selector(record)) if c else gone(rid)

    def read_many(
        self, records: list[ResourceRecord], seen: JobsSeen | None = None
    ) -> dict[str, Observation]:
        """Exports, batched as far as the API allows.

        There is no account-wide checkpoint list, so an export costs one request per job — except
        one that already SUCCEEDED: an exported model never changes while its job exists, and its
        expiry is known from the recorded `expire_time`. Its job's presence in the jobs list
        (paged, 100 per request; or the jobs `seen` by this refresh's FineTune reads) is enough.
        """
        jobs: set[str] = seen.job_ids if seen is not None else set()
        out: dict[str, Observation] = {}
        settled = [r for r in records if r.status == "SUCCEEDED" and _recorded_any(r)]
        if settled:
            if any((r.remote_id or "").partition(":")[0] not in jobs for r in settled):
                jobs = {j.job_id for j in self.client.iter_fine_tunes()}
            for r in settled:
                job_id = (r.remote_id or "").partition(":")[0]
                if job_id in jobs:
                    out[r.address] = self._obs(job_id, _recorded_checkpoint(r), _selector(r))
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
                out[r.address] = self._obs(job_id, c, _selector(r)) if c else gone(r.remote_id)
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

    def _fp_or_none(self, desired: Desired) -> dict[str, Any] | None:
        """The export's fingerprint, or None while its selector names no checkpoint yet (its job
        is still training): then nothing on the provider can be this export."""
        try:
            return self.fingerprint(desired)
        except PermanentError:
            return None

    def find(
        self, desired: list[Desired], owned: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        claimed = set(owned)  # this batch's own claims stay here
        out: dict[str, Observation] = {}
        exports: dict[str, dict[str, Any]] = {}
        for d in desired:
            if (fp := self._fp_or_none(d)) is not None:
                exports[d.address] = fp
        checkpoints = self._checkpoints_of({fp["job_id"] for fp in exports.values()})
        for address, fp in exports.items():
            rid = f"{fp['job_id']}:{fp['checkpoint']}"
            c = next(
                (c for c in checkpoints.get(fp["job_id"]) or [] if c.checkpoint == fp["checkpoint"]), None
            )
            if c is None or rid in claimed:
                continue
            ours = c.status == "SUCCEEDED" and c.model_display_name in _display_names(fp)
            # After an ambiguous export (`find`), PROCESSING is ours too: the journal says we asked.
            # PENDING is "not known yet" — never exported and queued look the same [seed].
            if ours or (since is not None and c.status == "PROCESSING"):
                out[address] = self._obs(fp["job_id"], c, fp.get("selector"))
                claimed.add(rid)
        return out

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

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
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
        for name in _display_names(fp):
            try:
                submitted = self.client.export_checkpoint(fp["job_id"], fp["checkpoint"], model_name=name)
            except InvalidRequestError as refusal:
                row = self._checkpoint_row(fp)
                if row.status == "PENDING" and name == fp["model_name"]:
                    continue
                return self._settle_refused(desired, fp, row, refusal)
            if not submitted:
                # `output: false` means "not submitted, retry" (providers.md §1.5)
                raise ServerError(
                    "export was not submitted (output: false); retry later",
                    provider="dashscope",
                    operation="export checkpoint",
                )
            return self._obs(fp["job_id"], self._checkpoint_row(fp), fp.get("selector"))
        raise AssertionError("unreachable: the fallback name settles or returns")  # pragma: no cover

    def _settle_refused(
        self, desired: Desired, fp: Mapping[str, Any], row: Checkpoint, refusal: InvalidRequestError
    ) -> Observation:
        obs = self._obs(fp["job_id"], row, fp.get("selector"))
        names = _display_names(fp)
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

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return _no_update(record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return _cancel_as_job(self.client, record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        return None  # DashScope has no delete for an exported model: forgotten (see adapter.py)

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        spec = desired.spec
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


def model_name(desired: Desired) -> str | None:
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


class Deployments:
    """Deployment → `/deployments`; found by listing and matching `model_name` (+ suffix), never
    by a computed id. The remote id is `deployed_model` as returned."""

    def __init__(self, client: DashScopeClient) -> None:
        self.client = client

    def read(self, record: ResourceRecord) -> Observation:
        try:
            return deployment_obs(self.client.get_deployment(record.remote_id or ""))
        except NotFoundError:
            return gone(record.remote_id)

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        listed = ((d.deployed_model, d) for d in self.client.iter_deployments())
        return _observed_by_id(records, listed, deployment_obs)

    def find(
        self, desired: list[Desired], owned: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        claimed = set(owned)  # this batch's own claims stay here
        out: dict[str, Observation] = {}
        deployments = list(self.client.iter_deployments())
        for d in desired:
            model = model_name(d)
            if model is None:
                continue  # its model does not exist yet: nothing can serve it
            hits = deployment_candidates(deployments, model, d.spec.get("suffix"), claimed, since)
            if len(hits) > 1:
                raise AmbiguousMatch(
                    d.address,
                    sorted(h.deployed_model for h in hits),
                    f"several live deployments serve {model}"
                    + (f" with suffix {d.spec['suffix']}" if d.spec.get("suffix") else ""),
                )
            if hits:
                out[d.address] = deployment_obs(hits[0])
                claimed.add(hits[0].deployed_model)
        return out

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        spec = desired.spec
        model = model_name(desired)
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
            return deployment_obs(self.client.create_deployment(body))
        except ConflictError as conflict:
            # 409: a live deployment already holds this model (+ suffix). Ours if exactly one live,
            # unclaimed deployment serves this model under this suffix (e.g. a lost response) —
            # found by listing, never by computing its id.
            hits = deployment_candidates(self.client.iter_deployments(), model, suffix, claimed)
            if len(hits) > 1:
                raise AmbiguousMatch(
                    desired.address,
                    sorted(h.deployed_model for h in hits),
                    f"DashScope answered 409 and several live deployments serve {model}",
                ) from conflict
            if hits:
                return deployment_obs(hits[0])
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

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        plan = (
            (record.observed or {}).get("plan")
            or record.spec.get("plan")
            or desired.spec.get("plan")
            or "lora"
        )
        if plan == "lora" or desired.spec.get("plan", "lora") == "lora":
            # capacity applies to plan mu only; for lora it is ignored and cannot be scaled [doc]
            return self.read(record)
        return deployment_obs(
            self.client.scale_deployment(record.remote_id or "", int(desired.spec["capacity"]))
        )

    def cancel(self, record: ResourceRecord) -> Observation:
        return _cancel_as_job(self.client, record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        try:
            # DELETING now, 404 later: the caller waits before re-using the model and suffix
            obs = deployment_obs(self.client.delete_deployment(record.remote_id or ""))
        except NotFoundError:
            return None
        return obs if obs.phase is Phase.DELETING else None

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        # never a computed deployed_model: with a suffix the server adds 8 hex characters
        return {"model_name": model_name(desired), "suffix": desired.spec.get("suffix")}


class Renders:
    """Sample → a `video-synthesis` task of the Deployment's model; no task list exists, so a
    render is read one GET at a time and never found again (`samples.NOT_FINDABLE`)."""

    def __init__(self, client: DashScopeClient) -> None:
        self.client = client

    def _read_task(self, record: ResourceRecord) -> Observation:
        if not record.remote_id:
            return gone(None)
        return samples.task_obs(self.client.get_task(record.remote_id))

    def read(self, record: ResourceRecord) -> Observation:
        try:
            return self._read_task(record)
        except NotFoundError:
            return gone(record.remote_id)

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        return {r.address: self._read_task(r) for r in records}  # one GET per render

    def find(
        self, desired: list[Desired], claimed: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        if since is None:
            return {}  # a render cannot be recognised without its task id (no task list): rendered again
        raise PermanentError(
            samples.NOT_FINDABLE.format(address=desired[0].address),
            provider="dashscope",
            operation="find render",
        )

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        endpoint, request = self._synthesis(desired)
        return samples.task_obs(self.client.submit_video_synthesis(endpoint, request))

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return _no_update(record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return _cancel_as_job(self.client, record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        return None  # a finished task is nothing to delete

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        path, body = self._synthesis(desired)
        return {"path": path, "body": body}

    @staticmethod
    def _synthesis(desired: Desired) -> tuple[str, dict[str, Any]]:
        model = samples.deployed_model(desired.inputs, str(desired.spec["deployment"]))
        if model is None:
            raise ValueError(
                f"{desired.address}: Deployment/{desired.spec['deployment']} is not deployed yet"
            )
        return samples.synthesis_request(desired.spec, model)
