"""One small handler per kind (read, find, create, update, cancel, delete), behind `LocalTrainerAdapter`.

A handler knows one kind's API calls and its fingerprint; the adapter only routes by kind.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from localtrainer.client import LocalTrainerClient
from reconciler.models.state import ResourceRecord
from reconciler.providers.errors import NotFoundError
from reconciler.providers.http import Retry
from reconciler.providers.interface import Desired, Observation, Phase

PHASES = {"queued": Phase.PENDING, "training": Phase.PENDING, "done": Phase.READY, "canceled": Phase.CANCELED}
RUNNING = frozenset({"queued", "training"})


class KindHandler(Protocol):
    def read(self, remote_id: str) -> Observation: ...
    def find(self, desired: Desired, claimed: set[str]) -> Observation | None: ...
    def create(self, desired: Desired) -> Observation: ...
    def update(self, desired: Desired, record: ResourceRecord) -> Observation: ...
    def cancel(self, record: ResourceRecord) -> Observation: ...
    def delete(self, record: ResourceRecord) -> None: ...
    def fingerprint(self, desired: Desired) -> dict[str, Any]: ...


def gone(remote_id: str) -> Observation:
    return Observation(remote_id=remote_id, phase=Phase.GONE, status="not_found")


class DatasetHandler:
    def __init__(self, client: LocalTrainerClient) -> None:
        self.client = client

    def _obs(self, d: dict[str, Any]) -> Observation:
        return Observation(
            remote_id=d["id"],
            phase=Phase.READY,
            status="ready",
            object=d,
            outputs={"dataset_id": d["id"]},
            created_at=d["created"],
        )

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return {"name": desired.name, "urls": list(desired.spec["urls"])}

    def read(self, remote_id: str) -> Observation:
        try:
            return self._obs(
                self.client.call(
                    "GET", f"/datasets/{remote_id}", operation="get_dataset", retry=Retry.IDEMPOTENT
                )
            )
        except NotFoundError:
            return gone(remote_id)

    def find(self, desired: Desired, claimed: set[str]) -> Observation | None:
        fp = self.fingerprint(desired)
        items = self.client.call("GET", "/datasets", operation="list_datasets", retry=Retry.IDEMPOTENT)[
            "items"
        ]
        hits = [d for d in items if d["id"] not in claimed and {"name": d["name"], "urls": d["urls"]} == fp]
        return self._obs(hits[0]) if hits else None

    def create(self, desired: Desired) -> Observation:
        body = self.fingerprint(desired)
        return self._obs(
            self.client.call("POST", "/datasets", operation="create_dataset", retry=Retry.CREATE, json=body)
        )

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        raise ValueError("a local trainer dataset has no in-place update")

    def cancel(self, record: ResourceRecord) -> Observation:
        return self.read(record.remote_id or "")

    def delete(self, record: ResourceRecord) -> None:
        with contextlib.suppress(NotFoundError):
            self.client.call(
                "DELETE", f"/datasets/{record.remote_id}", operation="delete_dataset", retry=Retry.IDEMPOTENT
            )


class JobHandler:
    def __init__(self, client: LocalTrainerClient) -> None:
        self.client = client

    def _obs(self, j: dict[str, Any]) -> Observation:
        outputs = {"job_id": j["id"], **({"lora_url": j["lora_url"]} if "lora_url" in j else {})}
        return Observation(
            remote_id=j["id"],
            phase=PHASES.get(j["status"], Phase.PENDING),
            status=j["status"],
            object=j,
            outputs=outputs,
            created_at=j["created"],
        )

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        dataset = desired.spec["dataset"]
        return {
            "dataset_id": desired.inputs[f"Dataset/{dataset}"]["dataset_id"],
            "hyper_parameters": dict(desired.spec["hyper_parameters"]),
        }

    def read(self, remote_id: str) -> Observation:
        try:
            return self._obs(
                self.client.call("GET", f"/jobs/{remote_id}", operation="get_job", retry=Retry.IDEMPOTENT)
            )
        except NotFoundError:
            return gone(remote_id)

    def find(self, desired: Desired, claimed: set[str]) -> Observation | None:
        fp = self.fingerprint(desired)
        items = self.client.call("GET", "/jobs", operation="list_jobs", retry=Retry.IDEMPOTENT)["items"]
        hits = [
            j
            for j in items
            if j["id"] not in claimed
            and j["status"] != "canceled"
            and {"dataset_id": j["dataset_id"], "hyper_parameters": j["hyper_parameters"]} == fp
        ]
        return self._obs(hits[0]) if hits else None

    def create(self, desired: Desired) -> Observation:
        body = {"name": desired.name, **self.fingerprint(desired)}
        return self._obs(
            self.client.call("POST", "/jobs", operation="create_job", retry=Retry.CREATE, json=body)
        )

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        raise ValueError("a local trainer job has no in-place update")

    def cancel(self, record: ResourceRecord) -> Observation:
        return self._obs(
            self.client.call(
                "POST", f"/jobs/{record.remote_id}/cancel", operation="cancel_job", retry=Retry.IDEMPOTENT
            )
        )

    def delete(self, record: ResourceRecord) -> None:
        with contextlib.suppress(NotFoundError):
            self.client.call(
                "DELETE", f"/jobs/{record.remote_id}", operation="delete_job", retry=Retry.IDEMPOTENT
            )
