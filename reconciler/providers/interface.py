"""The one narrow interface between the engine and a provider (DESIGN.md §5).

The engine knows providers only through `ProviderAdapter`; `cli`/`workspace` wire concrete
ones in. An adapter maps our kinds onto one provider's API calls. It never touches the state
store: it receives what it needs (the desired spec, the outputs of dependencies, the last
record) and returns `Observation`s; the engine journals and records.

Errors: adapters raise the tree in `reconciler.providers.errors` (`NotFoundError`,
`OutcomeUnknownError`, `TemporaryError`, `PermanentError`…).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from reconciler.models.state import ResourceRecord


class Phase(StrEnum):
    """Where a provider object stands, in provider-neutral terms."""

    PENDING = "pending"  # accepted, not ready yet (queued, running, deploying, exporting…)
    READY = (
        "ready"  # usable by dependents (job SUCCEEDED, export SUCCEEDED, deployment RUNNING, file processed)
    )
    FAILED = "failed"  # terminal failure (job FAILED, deployment FAILED…)
    CANCELED = "canceled"  # terminal, stopped on request
    DELETING = "deleting"  # going away
    GONE = "gone"  # does not exist on the provider


@dataclass(slots=True)  # a refresh keeps one per managed object through planning: no `__dict__` each
class Observation:
    """What the provider says about one object right now."""

    remote_id: str
    phase: Phase
    status: str  # the provider's own status word, e.g. "RUNNING"
    object: dict[str, Any] = field(default_factory=dict)  # the provider object (JSON), secrets never
    outputs: dict[str, Any] = field(default_factory=dict)  # ids/names/URLs dependents and users need
    message: str | None = None  # e.g. a failure message from the provider
    created_at: float | None = None  # epoch seconds, when the provider reports it
    progress: str | None = None  # human hint for long waits ("queued, 2 ahead", "step 300/800")
    # Fields that can drift in place (e.g. deployment capacity): manifest-space path -> observed value.
    live_fields: dict[str, Any] = field(default_factory=dict)
    # extra facts for the plan (expired checkpoints, running since…): display only
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Desired:
    """Everything an adapter needs to create or find one resource."""

    address: str
    kind: str
    name: str
    spec: Mapping[str, Any]  # effective spec (JSON data)
    spec_hash: str
    # outputs of the resources this one references, by address (e.g. a dataset's file_id)
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    content_digest: str | None = None  # local datasets
    source_path: str | None = None  # local datasets: absolute path of the folder or zip


ProgressCallback = Callable[[str], None]


class AmbiguousMatch(Exception):
    """`find`/`discover` cannot tell which provider object is this resource's (DESIGN.md §3b).

    Raised instead of guessing when more than one live, unclaimed object fits everything the
    provider's documents let us compare (e.g. several trainings of one trainer model created after
    the journal row). The engine stops that resource — it never creates again — and shows the
    candidates with the commands that settle it (`reconciler import ADDRESS ID`, or
    `reconciler state resolve ADDRESS --absent`).
    """

    def __init__(
        self, address: str, candidates: list[str], why: str, twins: list[Observation] | None = None
    ) -> None:
        self.address = address
        self.candidates = list(candidates)
        self.why = why
        # Set only when the provider shows every field the create sent, and each candidate carries
        # exactly those values: then they are one create landed twice, not a question. The engine
        # keeps the oldest and deletes the others (DESIGN.md §3b.1).
        self.twins = list(twins or [])
        super().__init__(
            f"{address}: {len(self.candidates)} provider objects could be this resource "
            f"({', '.join(self.candidates)}): {why}"
        )


class ProviderAdapter(Protocol):
    """What the engine calls on a provider. Pure facts it needs before any call (status words, what
    cannot be deleted, replace rules) come from the provider's plugin instead (`facts.ProviderFacts`)."""

    name: str  # the Provider manifest's metadata.name
    type: str  # dashscope | wavespeed | imgopen

    def read_many(self, records: list[ResourceRecord]) -> dict[str, Observation]:
        """Observe known objects, batched through list endpoints where the API has them.

        Returns address -> Observation; an object that no longer exists has phase GONE.
        """
        ...

    def discover(self, desired: list[Desired], claimed: AbstractSet[str]) -> dict[str, Observation]:
        """Find objects an earlier apply created, by fingerprint, for resources with no state.

        `claimed` holds remote ids already owned by other resources (never adopt those twice).
        """
        ...

    def create(self, desired: Desired, claimed: AbstractSet[str] | None = None) -> Observation:
        """Submit the create. May raise OutcomeUnknownError (resolved with `find`).

        `claimed`: remote ids other resources own, for a create that may answer "it exists" (a 409)
        and must not take another resource's object for its own."""
        ...

    def find(self, desired: Desired, since: float, claimed: AbstractSet[str]) -> Observation | None:
        """After an ambiguous create: the object this create made, if it exists."""
        ...

    def read(self, record: ResourceRecord) -> Observation:
        """Observe one object (phase GONE when it does not exist)."""
        ...

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        """Change in place the fields of change class `update`."""
        ...

    def cancel(self, record: ResourceRecord) -> Observation:
        """Stop a running job."""
        ...

    def delete(self, record: ResourceRecord) -> Observation | None:
        """Delete; an object already gone is success.

        Returns None when the object is gone, or its observation (phase DELETING) when the provider
        deletes asynchronously — the engine then waits for GONE before anything reuses the name.
        """
        ...

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        """How `find` will recognise this create (journaled before the call)."""
        ...


# Output keys that hold downloadable LoRA files (WaveSpeed, ImgOpen). Their URLs expire.
LORA_OUTPUT_KEYS = ("lora", "high_noise_lora", "low_noise_lora", "lora_url")
# Output keys that hold rendered media (a Sample's video or image). Their URLs expire too.
MEDIA_OUTPUT_KEYS = ("media", "media_2", "media_3")
DOWNLOADABLE_OUTPUT_KEYS = LORA_OUTPUT_KEYS + MEDIA_OUTPUT_KEYS


@runtime_checkable
class DownloadsOutputs(Protocol):
    """Optional adapter capability (`output --download`): fetch an output file to disk, never with a key."""

    def download(self, url: str, destination: str) -> tuple[int, str]:
        """Stream `url` to `destination`; returns (bytes, sha256 hex)."""
        ...


@runtime_checkable
class ShowsValidationPreviews(Protocol):
    """Optional adapter capability (`output --gallery`): a training's validation previews per checkpoint."""

    def validation_previews(self, record: ResourceRecord) -> dict[str, list[dict[str, Any]]]: ...
