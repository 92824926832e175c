"""State records: what the state store keeps per resource, and its journal, events and lock (pure data).

The store (`reconciler.state`) persists these; the engine reads and writes them through the
`StateStore` interface. Every record converts to and from a JSON-able dict (`to_dict()` /
`from_dict()`), so plans, `state show --json` and tests can carry them without knowing SQLite.
Nothing here does I/O; timestamps are ISO-8601 UTC strings made by `iso_utc()` from a clock's
`now()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

_T = TypeVar("_T")


def iso_utc(epoch_seconds: float) -> str:
    """`1767225600.0` -> `'2026-01-01T00:00:00.000Z'` (milliseconds: journal rows are compared with
    provider creation times, and events ordered by humans)."""
    text = datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_iso_utc(text: str) -> float:
    """The inverse of `iso_utc` (also accepts offsets and second precision)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class JournalStatus(StrEnum):
    OPEN = "open"  # committed before the provider call; outcome unknown until closed
    DONE = "done"  # the call succeeded and its result is recorded
    FAILED = "failed"  # the provider definitely refused it (nothing was created)
    RESOLVED = "resolved"  # an ambiguous outcome settled later (object found and adopted, or proved absent)


def _from_dict(cls: type[_T], data: dict[str, Any]) -> _T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]  # _T is always one of this module's dataclasses
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
    return cls(**data)


@dataclass
class ResourceRecord:
    """One managed resource as last applied and last observed. `address` is `Kind/name`."""

    address: str
    kind: str
    name: str
    provider: str  # the Provider manifest's name
    provider_type: str  # dashscope | wavespeed | imgopen
    remote_id: str | None  # primary provider id (file id, job id, "job_id:checkpoint", deployed model, …)
    spec: dict[str, Any]  # the applied effective spec
    spec_hash: str
    content_digest: str | None = None  # datasets: content identity
    content_files: dict[str, str] = field(default_factory=dict)  # datasets: name -> sha256
    status: str | None = None  # last known provider status
    observed: dict[str, Any] | None = None  # last observed provider object; never secrets
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    lifecycle: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None
    observed_at: str | None = None
    # Objects a create-before-destroy replace has superseded but not yet deleted (each the old
    # record's to_dict()). Kept so a crash between "new created" and "old deleted" never leaves a
    # provider object the state does not know about (Terraform's "deposed" objects).
    deposed: list[dict[str, Any]] = field(default_factory=list)
    # Lineage (DESIGN.md §3b.3): the upstream objects this one was built from, address -> remote id
    # (the job an export came from, the export a deployment serves). The planner compares it with
    # each upstream's current object, so a dependent left on a replaced upstream is never "no change".
    built_from: dict[str, str] = field(default_factory=dict)

    def with_changes(self, **changes: Any) -> ResourceRecord:
        """`dataclasses.replace` for a record, without its per-call field introspection.

        A refresh folds an observation into every record (4,000 at 1,000 chains); `replace`
        spent ~14 µs on each. A record has no `__post_init__` and no `InitVar`s, so copying its
        `__dict__` is what `replace` would build. Unknown names are refused as `replace` would.
        """
        if not _RECORD_FIELDS.issuperset(changes):  # (a look-up per change, not a set of them each time)
            raise TypeError(f"ResourceRecord has no field(s) {sorted(changes.keys() - _RECORD_FIELDS)}")
        new = object.__new__(type(self))  # a store's subclass (fields read on demand) stays one
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def with_observation(
        self, status: str | None, observed: dict[str, Any] | None, outputs: dict[str, Any], observed_at: str
    ) -> ResourceRecord:
        """`with_changes(status=…, observed=…, outputs=…, observed_at=…)`, what a refresh folds into
        every record, without the keyword dict and the check of its names (four known fields)."""
        new = object.__new__(type(self))
        fields_of = new.__dict__
        fields_of.update(self.__dict__)
        fields_of["status"] = status
        fields_of["observed"] = observed
        fields_of["outputs"] = outputs
        fields_of["observed_at"] = observed_at
        return new

    def with_refreshed(
        self, status: str | None, observed: dict[str, Any] | None, seen: Mapping[str, Any], observed_at: str
    ) -> ResourceRecord:
        """`with_observation` of a refresh: the outputs are the recorded ones with the provider's
        (`seen`) laid over them, the recorded dict itself when it holds them already (the usual
        case: a refresh's records live through planning, and a copy each is not needed)."""
        outputs = self.outputs
        if not seen.items() <= outputs.items():
            outputs = {**outputs, **seen}
        return self.with_observation(status, observed, outputs, observed_at)

    def observed_text(self) -> str | None:
        """The JSON text `observed` is still kept as, undecoded (a record read from a store that
        decodes on first read), else None. A reader that parses JSON itself may take it instead
        of the decoded value (one pass); `observed` is the same value either way."""
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "name": self.name,
            "provider": self.provider,
            "provider_type": self.provider_type,
            "remote_id": self.remote_id,
            "spec": self.spec,
            "spec_hash": self.spec_hash,
            "content_digest": self.content_digest,
            "content_files": self.content_files,
            "status": self.status,
            "observed": self.observed,
            "outputs": self.outputs,
            "dependencies": self.dependencies,
            "labels": self.labels,
            "lifecycle": self.lifecycle,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "observed_at": self.observed_at,
            "deposed": self.deposed,
            "built_from": self.built_from,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceRecord:
        return _from_dict(cls, data)


_RECORD_FIELDS = frozenset(f.name for f in fields(ResourceRecord))


@dataclass(frozen=True)
class StateMeta:
    """Identity and version of a state. `lineage` is fixed when the state is created (a uuid4; `""`
    while no state file exists yet); `serial` grows with every write that changes a resource."""

    lineage: str
    serial: int
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        return {"lineage": self.lineage, "serial": self.serial, "schema_version": self.schema_version}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StateMeta:
        return _from_dict(cls, data)


@dataclass
class JournalEntry:
    """A provider call, recorded (and committed) before it is sent, closed when its outcome is known."""

    id: int
    address: str
    operation: str  # create | delete | cancel | update | export | …
    provider: str
    request: dict[str, Any]  # what is about to be sent (never secrets)
    fingerprint: dict[str, Any]  # how to find the object again on the provider
    status: str  # JournalStatus
    started_at: str
    finished_at: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == JournalStatus.OPEN

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": self.address,
            "operation": self.operation,
            "provider": self.provider,
            "request": self.request,
            "fingerprint": self.fingerprint,
            "status": str(self.status),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JournalEntry:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Event:
    """One line of the append-only history (`address` is None for state-wide events)."""

    id: int
    ts: str
    address: str | None
    event: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "address": self.address,
            "event": self.event,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class LockInfo:
    """Who holds the apply lock: enough for a refused process to say whom to ask or what to kill."""

    owner: str  # user name
    pid: int
    host: str
    operation: str  # apply | destroy | refresh | import | state rm | …
    started_at: str
    lock_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "pid": self.pid,
            "host": self.host,
            "operation": self.operation,
            "started_at": self.started_at,
            "lock_id": self.lock_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LockInfo:
        return _from_dict(cls, data)


@dataclass
class StateSnapshot:
    """Everything one state holds, for copying it between stores (`state migrate`) and checking the copy.

    The schema version is not part of it: it belongs to the store, not to the state.
    """

    lineage: str
    serial: int
    resources: dict[str, ResourceRecord]
    journal: list[JournalEntry]
    events: list[Event]

    def counts(self) -> str:
        return (
            f"{len(self.resources)} resource(s), {len(self.journal)} journal entr"
            f"{'y' if len(self.journal) == 1 else 'ies'}, {len(self.events)} event(s)"
        )
