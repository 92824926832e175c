"""What the planner may ask a provider, with no connection: the pure facts behind its phases.

The engine knows phases (`interface.Phase`), never a provider's words. Whatever turns a provider's
own vocabulary into something the plan can act on lives with that provider, behind this protocol:
which recorded status words mean a job is still running (cancel it before replacing or removing
it), whether a replacement can stand beside the object it replaces, and what an observation says
that the user must hear (an expired checkpoint). Numbers derived from a spec (training steps) come
from the provider's spec models (`ResourceSpec.planned_training_steps`).

Nothing here does I/O: `plan --refresh=false` asks it offline, and no HTTP client is imported.
A provider that answers nothing special subclasses `NoFacts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.models.plans import ReplaceMode
from reconciler.providers.interface import Observation


@dataclass(frozen=True)
class Note:
    """Something an observation tells the user; `field` is the manifest path it is about."""

    message: str
    field: str | None = None


@dataclass(frozen=True)
class ObservationNotes:
    warnings: list[Note] = field(default_factory=list)  # shown on an unchanged resource
    errors: list[Note] = field(default_factory=list)  # the plan cannot be applied as it stands


class ProviderFacts(Protocol):
    def running(self, kind: str, status: str) -> bool:
        """Whether an object of `kind` in the provider's `status` (as recorded) is a job still running."""
        ...

    def replace_mode(
        self, kind: str, before: Mapping[str, Any], after: Mapping[str, Any], *, upstream_changed: bool
    ) -> ReplaceMode:
        """Whether a replacement can be created beside the old object (`before`/`after`: applied and
        desired spec; `upstream_changed`: it is rebuilt from a new upstream object)."""
        ...

    def observation_notes(
        self, kind: str, spec: Mapping[str, Any], observed: Observation
    ) -> ObservationNotes:
        """What the user must be told about this observation (e.g. an expired checkpoint)."""
        ...

    def no_delete_api(self, kind: str) -> str | None:
        """Why the provider cannot delete objects of `kind` (a sentence for the plan); None when it can.

        The planner turns removing such a resource into a forget with this reason, so apply makes no
        call and nothing says "deleted" for what stays on the provider."""
        ...


class NoFacts:
    """A provider with nothing special to say: nothing runs, replacements stand beside the old."""

    def running(self, kind: str, status: str) -> bool:
        return False

    def replace_mode(
        self, kind: str, before: Mapping[str, Any], after: Mapping[str, Any], *, upstream_changed: bool
    ) -> ReplaceMode:
        return ReplaceMode.CREATE_BEFORE_DESTROY

    def observation_notes(
        self, kind: str, spec: Mapping[str, Any], observed: Observation
    ) -> ObservationNotes:
        return ObservationNotes()

    def no_delete_api(self, kind: str) -> str | None:
        return None


class TableFacts(NoFacts):
    """Facts given as two tables: the status words of a job still running, and what cannot be deleted."""

    def __init__(
        self, running: Mapping[str, frozenset[str]], undeletable: Mapping[str, str] | None = None
    ) -> None:
        self._running = running  # kind -> status words of a job still running
        self._undeletable = dict(undeletable or {})  # kind -> why the API cannot delete it

    def running(self, kind: str, status: str) -> bool:
        return status in self._running.get(kind, frozenset())

    def no_delete_api(self, kind: str) -> str | None:
        return self._undeletable.get(kind)
