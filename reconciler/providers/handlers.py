"""One small handler per kind, and the adapter that routes the engine's calls to them.

Why: an adapter whose every method switches on `desired.kind` mixes each kind's API calls, its
fingerprint and its phase reading into one long class. A `KindHandler` holds one kind's six
operations (read, find, create, update, cancel, delete) and its fingerprint; `KindRoutedAdapter`
is the engine's `ProviderAdapter` over them and decides nothing itself. `discover` (no state) and
`find` (after an ambiguous create, with the journal's time) are one operation here: `find` with or
without `since`.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

from reconciler.models.state import ResourceRecord
from reconciler.providers.interface import Desired, Observation


class KindHandler(Protocol):
    def read(self, record: ResourceRecord) -> Observation:
        """The object now (phase GONE when it does not exist)."""
        ...

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        """address -> observation, batched where the API lists."""
        ...

    def find(
        self, desired: list[Desired], claimed: AbstractSet[str], since: float | None
    ) -> dict[str, Observation]:
        """address -> the object each desired resource's create made, recognised by fingerprint only.

        `since` (epoch seconds) narrows it to an ambiguous create's window; None looks at all.
        Never an object in `claimed`; `AmbiguousMatch` where several fit."""
        ...

    def create(self, desired: Desired, claimed: AbstractSet[str]) -> Observation: ...

    def update(self, desired: Desired, record: ResourceRecord) -> Observation: ...

    def cancel(self, record: ResourceRecord) -> Observation: ...

    def delete(self, record: ResourceRecord) -> Observation | None: ...

    def fingerprint(self, desired: Desired) -> dict[str, Any]: ...


class KindRoutedAdapter:
    """`ProviderAdapter` over `handlers` (kind -> handler, in the order the provider serves them)."""

    name: str
    type: str
    handlers: Mapping[str, KindHandler]

    def _handler(self, kind: str) -> KindHandler:
        handler = self.handlers.get(kind)
        if handler is None:
            raise ValueError(f"{self.type} cannot serve {kind} (it serves {' and '.join(self.handlers)})")
        return handler

    def _by_kind(self, kinds: list[str]) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for i, kind in enumerate(kinds):
            group = groups.get(kind)
            if group is None:
                self._handler(kind)  # refuse a kind this provider does not serve before any call
                group = groups[kind] = []
            group.append(i)
        return groups

    def read(self, record: ResourceRecord) -> Observation:
        return self._handler(record.kind).read(record)

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        seen: dict[str, Observation] = {}
        for kind, indexes in self._by_kind([r.kind for r in records]).items():
            seen.update(self._handler(kind).read_many([records[i] for i in indexes]))
        return {r.address: seen[r.address] for r in records if r.address in seen}  # in the callers' order

    def discover(self, desired: list[Desired], owned: AbstractSet[str]) -> dict[str, Observation]:
        """Kind by kind, each seeing the claims the ones before it made (a copy: `owned` is read-only)."""
        claimed = set(owned)
        out: dict[str, Observation] = {}
        for kind, indexes in self._by_kind([d.kind for d in desired]).items():
            found = self._handler(kind).find([desired[i] for i in indexes], claimed, None)
            out.update(found)
            claimed.update(obs.remote_id for obs in found.values())
        return out

    def find(self, desired: Desired, since: float, claimed: AbstractSet[str]) -> Observation | None:
        return self._handler(desired.kind).find([desired], claimed, since).get(desired.address)

    def create(self, desired: Desired, claimed: AbstractSet[str] | None = None) -> Observation:
        return self._handler(desired.kind).create(desired, claimed if claimed is not None else frozenset())

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        return self._handler(record.kind).update(desired, record)

    def cancel(self, record: ResourceRecord) -> Observation:
        return self._handler(record.kind).cancel(record)

    def delete(self, record: ResourceRecord) -> Observation | None:
        return self._handler(record.kind).delete(record)

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return self._handler(desired.kind).fingerprint(desired)
