"""ImgOpen behind the engine's `ProviderAdapter` interface (providers.md §3).

Kinds → API:
- Dataset  → nothing remote. An ImgOpen dataset is the list of 10–100 public image URLs that a
             training's `fileUrlList` carries, so "creating" or reading one makes no request: it is
             READY at once with outputs `{"urls": [...], "count": n}`. Its remote id
             (`urls:<name>:<hash16>`) only names the URL list for the state.
- FineTune → `submitTraining/Job` with a deterministic taskId (`task_ids.py`); remote id = taskId.
             read = the training-result query (inferred, `result_endpoint.py`): queued/training →
             PENDING, succeeded → READY with outputs `{"task_id", "lora_url"}`, failed → FAILED
             with ImgOpen's message, unknown taskId → GONE.

Finding objects again: the taskId *is* the fingerprint. `find`/`discover` query the ids this
address and spec would have used (attempt 0, then -r1, -r2, … while they exist — a taskId can
never be reused, so retraining an unchanged spec after a FAILED task takes the next attempt id).
How ImgOpen answers a submit whose taskId is taken is undocumented (a guess in the sandbox, which
answers a bare refusal in `documented` fidelity), so `create` never trusts a refusal's wording:
after any refusal it asks the result query whether the taskId exists (an "already exists" it
recognises only saves nothing but that question), then reads that task and adopts it unless it
FAILED. The result query is the one undocumented contract this adapter depends on, and it lives
in `result_endpoint.py`. So a crash, a lost response or a lost state never trains twice, and
re-applying a spec that trained before (even after `destroy`) adopts the finished LoRA instead of
paying for it again. Two manifest sets with the same address and spec on one ImgOpen account
would share a task the same way.

ImgOpen has no list endpoint, so `read_many` and `discover` make one query per training, at most
`parallelism` at a time.

Each kind has its own handler (`UrlListDatasets`, `Trainings` below); `ImgOpenAdapter` only routes
the engine's calls to them (`reconciler.providers.handlers`).

Deleting and canceling: ImgOpen documents neither. Deleting a FineTune (or a Dataset) therefore
only *forgets* it — nothing is sent, the task and its LoRA file stay with ImgOpen. `cancel` cannot
stop a running training: it reports the task as GONE (from reconciler's point of view) with a
message saying it keeps running on ImgOpen, so a prune or destroy proceeds without waiting hours
for a training nobody wants. No update in place exists either: every spec field retrains.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.imgopen import ImgOpenFineTune
from reconciler.models.state import ResourceRecord
from reconciler.providers.errors import AuthError, ConflictError, NotFoundError, PermanentError
from reconciler.providers.handlers import KindHandler, KindRoutedAdapter
from reconciler.providers.imgopen import result_endpoint
from reconciler.providers.imgopen.client import ImgOpenClient
from reconciler.providers.imgopen.envelopes import PROVIDER
from reconciler.providers.imgopen.facts import IMGOPEN_FACTS
from reconciler.providers.imgopen.task_ids import MAX_ATTEMPTS, task_id
from reconciler.providers.imgopen.types import ResultState, TrainingResult
from reconciler.providers.interface import Desired, Observation, Phase

log = logging.getLogger("reconciler.providers.imgopen")

T = TypeVar("T")
R = TypeVar("R")

SUBMITTED = "SUBMITTED"  # status of a task we just submitted, before the first result query
DATASET_STATUS = "READY"
NOT_FOUND = "NOT_FOUND"

_PHASES = {
    ResultState.IN_PROGRESS: Phase.PENDING,
    ResultState.SUCCEEDED: Phase.READY,
    ResultState.FAILED: Phase.FAILED,
}


def dataset_remote_id(name: str, urls: Iterable[str]) -> str:
    digest = hashlib.sha256(json.dumps(list(urls), separators=(",", ":")).encode()).hexdigest()[:16]
    return f"urls:{name}:{digest}"


class UrlListDatasets:
    """Dataset: the URL list itself. Nothing remote: every operation answers at once, READY."""

    @staticmethod
    def observe(name: str, urls: list[str]) -> Observation:
        return Observation(
            remote_id=dataset_remote_id(name, urls),
            phase=Phase.READY,
            status=DATASET_STATUS,
            object={"urls": list(urls)},
            outputs={"urls": list(urls), "count": len(urls)},
        )

    def _of(self, desired: Desired) -> Observation:
        return self.observe(desired.name, [str(u) for u in desired.spec.get("urls") or []])

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return {"urls_id": dataset_remote_id(desired.name, desired.spec.get("urls") or [])}

    def read(self, record: ResourceRecord) -> Observation:
        urls = record.spec.get("urls") or record.outputs.get("urls") or []
        return self.observe(record.name, [str(u) for u in urls])

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        return {r.address: self.read(r) for r in records}

    def find(
        self, desired: list[Desired], claimed: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        return {d.address: self._of(d) for d in desired}

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        return self._of(desired)

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        raise ValueError(f"{record.kind} has no in-place update on imgopen: every change retrains")

    def cancel(self, record: ResourceRecord) -> Observation:
        return _forgotten_cancel(record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        return None  # nothing remote: forgetting is all there is


def _forgotten_cancel(record: ResourceRecord) -> Observation:
    log.warning(
        "%s: ImgOpen has no cancel API; task %s keeps running there and is forgotten",
        record.address,
        record.remote_id,
    )
    return Observation(
        remote_id=record.remote_id or "",
        phase=Phase.GONE,
        status=record.status or NOT_FOUND,
        message="ImgOpen documents no cancel endpoint: the task keeps running on ImgOpen; reconciler forgets it",
    )


class Trainings:
    """FineTune: `submitTraining/Job` under a deterministic taskId, read by the result query."""

    def __init__(self, client: ImgOpenClient, parallelism: int) -> None:
        self.client = client
        self.parallelism = parallelism

    @staticmethod
    def observe(result: TrainingResult) -> Observation:
        outputs: dict[str, Any] = {"task_id": result.task_id}
        if result.lora_url:
            outputs["lora_url"] = result.lora_url
        message = None
        if result.state is ResultState.FAILED:
            message = result.message or "the training failed (ImgOpen gave no reason)"
        progress = (
            result_endpoint.describe(result.status) if result.state is ResultState.IN_PROGRESS else None
        )
        return Observation(
            remote_id=result.task_id,
            phase=_PHASES[result.state],
            status=str(result.status),
            object=dict(result.raw),
            outputs=outputs,
            message=message,
            progress=progress,
        )

    @staticmethod
    def _gone(remote_id: str | None) -> Observation:
        return Observation(remote_id=remote_id or "", phase=Phase.GONE, status=NOT_FOUND)

    def _query(self, tid: str) -> TrainingResult | None:
        try:
            return self.client.query_result(tid)
        except NotFoundError:
            return None

    def _parallel(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        if len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=min(self.parallelism, len(items))) as pool:
            return list(pool.map(fn, items))

    @staticmethod
    def _urls(desired: Desired) -> list[str]:
        dataset = desired.spec.get("dataset")
        source = desired.inputs.get(f"Dataset/{dataset}")
        if not source or not source.get("urls"):
            raise ValueError(f"{desired.address}: the image URLs of Dataset/{dataset} are not known yet")
        return [str(u) for u in source["urls"]]

    @staticmethod
    def _fields(desired: Desired) -> dict[str, Any]:
        return ImgOpenFineTune.model_validate(dict(desired.spec)).training_request()

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return {"taskId": task_id(desired.address, desired.spec_hash)}

    def read(self, record: ResourceRecord) -> Observation:
        if not record.remote_id:
            return self._gone(record.remote_id)
        result = self._query(record.remote_id)
        return self.observe(result) if result else self._gone(record.remote_id)

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        return dict(zip((r.address for r in records), self._parallel(self.read, records), strict=True))

    def _locate(self, desired: Desired, claimed: AbstractSet[str]) -> Observation | None:
        """The newest task this address and spec made (attempts walked in order), unless FAILED or claimed."""
        newest: TrainingResult | None = None
        for attempt in range(MAX_ATTEMPTS):
            result = self._query(task_id(desired.address, desired.spec_hash, attempt))
            if result is None:
                break
            newest = result
        if newest is None or newest.task_id in claimed or newest.state is ResultState.FAILED:
            return None
        return self.observe(newest)

    def find(
        self, desired: list[Desired], claimed: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        """`since` is not needed: the taskId names the task exactly."""
        found = self._parallel(lambda d: self._locate(d, claimed), desired)
        return {d.address: obs for d, obs in zip(desired, found, strict=True) if obs is not None}

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation:
        urls, fields = self._urls(desired), self._fields(desired)
        for attempt in range(MAX_ATTEMPTS):
            tid = task_id(desired.address, desired.spec_hash, attempt)
            taken, existing = self._submit(tid, urls, fields)
            if not taken:
                return Observation(
                    remote_id=tid,
                    phase=Phase.PENDING,
                    status=SUBMITTED,
                    object={"taskId": tid},
                    outputs={"task_id": tid},
                    progress="submitted; waiting for ImgOpen to report a status",
                )
            if existing is None:
                raise ConflictError(
                    f"ImgOpen says taskId {tid} already exists, but the result query does not know it "
                    f"({result_endpoint.ASSUMPTION_NOTE}); check the task in the ImgOpen console",
                    provider=PROVIDER,
                    operation="submit_training",
                )
            if existing.state is not ResultState.FAILED:
                log.info(
                    "%s: taskId %s already exists (%s); adopting it",
                    desired.address,
                    tid,
                    result_endpoint.describe(existing.status),
                )
                return self.observe(existing)
            # That id is spent on a failed training of this same spec: retrain under the next one.
        raise ConflictError(
            f"{desired.address}: all {MAX_ATTEMPTS} taskIds for this spec are spent on failed trainings; "
            "change the spec (e.g. the seed or learningRate) to train under new ids",
            provider=PROVIDER,
            operation="submit_training",
        )

    def _submit(
        self, tid: str, urls: list[str], fields: dict[str, Any]
    ) -> tuple[bool, TrainingResult | None]:
        """Submit. (False, None): ImgOpen took it as a new task. (True, task or None): the taskId
        was already taken — with the task as the result query reports it.

        "Taken" is decided by the result query, never by the wording of a refusal (undocumented):
        a refusal whose taskId the query does not know is re-raised as it came.
        """
        try:
            submitted = self.client.submit_training(tid, urls, fields)
        except AuthError:
            raise
        except PermanentError:
            existing = self._query(tid)
            if existing is None:
                raise
            return True, existing
        return (True, self._query(tid)) if submitted.already_existed else (False, None)

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        raise ValueError(f"{record.kind} has no in-place update on imgopen: every change retrains")

    def cancel(self, record: ResourceRecord) -> Observation:
        return _forgotten_cancel(record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        # Nothing remote to delete (see the module note): forgetting is all there is.
        log.info(
            "%s: ImgOpen has no delete API; task %s stays on ImgOpen and is forgotten",
            record.address,
            record.remote_id,
        )
        return None


class ImgOpenAdapter(KindRoutedAdapter):
    type = "imgopen"
    # For the README's provider table (generated from here and tested to be current).
    CAPABILITIES: dict[str, str] = {
        "Dataset": "list of 10–100 public image URLs (no upload)",
        "FineTune": "`submitTraining/Job` with a deterministic `taskId` (address + spec hash)",
        "Refresh": "one result query per training (no list endpoint exists)",
        "Found again without state by": "the deterministic `taskId`",
        "Ambiguous create": "re-submitted safely: a taken `taskId` is recognised by the result query",
        "Cancel a running job": "no API: forgotten (keeps running on ImgOpen)",
        "Delete": "no API: forgotten",
        "Outputs": "`task_id`, `lora_url` — result query is **inferred** (undocumented; see below)",
    }

    def __init__(
        self, name: str, client: ImgOpenClient, *, clock: Clock = SYSTEM_CLOCK, parallelism: int = 10
    ) -> None:
        self.name = name
        self.client = client
        self.clock = clock
        self.parallelism = max(1, parallelism)
        self.handlers: dict[str, KindHandler] = {
            "Dataset": UrlListDatasets(),
            "FineTune": Trainings(client, self.parallelism),
        }

    def download(self, url: str, destination: str) -> tuple[int, str]:
        return self.client.download(url, destination)

    @classmethod
    def no_delete_api(cls, kind: str) -> str | None:
        return IMGOPEN_FACTS.no_delete_api(kind)


__all__ = ["DATASET_STATUS", "NOT_FOUND", "SUBMITTED", "ImgOpenAdapter", "dataset_remote_id"]
