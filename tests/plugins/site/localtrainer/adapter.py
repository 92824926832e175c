"""`LocalTrainerAdapter`: the provider interface, routed by kind to one small handler each."""

from __future__ import annotations

from typing import Any, ClassVar

from localtrainer.client import LocalTrainerClient
from localtrainer.facts import LOCALTRAINER_FACTS
from localtrainer.handlers import DatasetHandler, JobHandler, KindHandler
from reconciler.models.state import ResourceRecord
from reconciler.providers.interface import Desired, Observation


class LocalTrainerAdapter:
    type = "localtrainer"
    CAPABILITIES: ClassVar[dict[str, str]] = {
        "Dataset": "a list of image URLs",
        "FineTune": "a job on the local trainer",
        "Found again without state by": "dataset name and URLs; job dataset and hyper-parameters",
    }

    def __init__(self, name: str, client: LocalTrainerClient) -> None:
        self.name = name
        self.client = client
        self._handlers: dict[str, KindHandler] = {
            "Dataset": DatasetHandler(client),
            "FineTune": JobHandler(client),
        }

    def __repr__(self) -> str:
        return f"LocalTrainerAdapter(name={self.name!r}, client={self.client!r})"

    def _for(self, kind: str) -> KindHandler:
        return self._handlers[kind]

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        return {r.address: self.read(r) for r in records}

    def discover(self, desired: list[Desired], claimed: set[str]) -> dict[str, Observation]:
        mine = set(claimed)
        out: dict[str, Observation] = {}
        for d in desired:
            found = self._for(d.kind).find(d, mine)
            if found is not None:
                out[d.address] = found
                mine.add(found.remote_id)
        return out

    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        return self._for(desired.kind).create(desired)

    def find(self, desired: Desired, since: float, claimed: set[str]) -> Observation | None:
        return self._for(desired.kind).find(desired, claimed)

    def read(self, record: ResourceRecord) -> Observation:
        return self._for(record.kind).read(record.remote_id or "")

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return self._for(desired.kind).update(desired, record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return self._for(record.kind).cancel(record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        self._for(record.kind).delete(record)
        return None

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return self._for(desired.kind).fingerprint(desired)

    @classmethod
    def no_delete_api(cls, kind: str) -> str | None:
        return LOCALTRAINER_FACTS.no_delete_api(kind)
