"""Provider objects that might be a resource `discover` could not recognise (an optional capability).

Some providers document too little to recognise an object we made: WaveSpeed's prediction
history shows a training's model and creation time, but not its inputs, so a CI runner without
state cannot tell its own training from anyone else's. `discover` then adopts nothing — guessing
could adopt someone else's LoRA — and the plan creates the resource again. It must not do that
silently: an adapter that can list the objects that *might* be the resource offers

    def unrecognised(self, desired: list[Desired], claimed: AbstractSet[str]) -> dict[str, Unrecognised]

for the resources `discover` returned nothing for. The engine (refresh) calls it when present —
`isinstance(adapter, ReportsUnrecognised)` — and adds `Unrecognised.warning()` to that resource's
plan action; the user settles it with `reconciler import`. Nothing is adopted through it.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from reconciler.providers.interface import Desired


@dataclass(frozen=True)
class Candidate:
    remote_id: str
    status: str  # the provider's own word, e.g. "completed"
    created_at: str | None = None  # ISO 8601, as the provider reports it


@dataclass(frozen=True)
class Unrecognised:
    """Live, unclaimed provider objects that fit everything the documents let us compare."""

    address: str
    what: str  # e.g. "trainings of wavespeed-ai/wan-2.2-image-lora-trainer"
    window: str  # e.g. "from the last 7 days"
    why: str  # why they cannot be told apart
    candidates: list[Candidate] = field(default_factory=list)  # newest first

    def warning(self, limit: int = 5) -> str:
        """`N unclaimed trainings of … exist from the last 7 days (a, b, …); if one is this resource,
        `reconciler import FineTune/x <id>``."""
        ids = [c.remote_id for c in self.candidates]
        shown = ", ".join(ids[:limit]) + (f", … ({len(ids) - limit} more)" if len(ids) > limit else "")
        return (
            f"{len(ids)} unclaimed {self.what} exist {self.window} ({shown}); {self.why}; if one is this "
            f"resource, `reconciler import {self.address} <id>` adopts it instead of creating it again"
        )


@runtime_checkable
class ReportsUnrecognised(Protocol):
    def unrecognised(self, desired: list[Desired], claimed: AbstractSet[str]) -> dict[str, Unrecognised]:
        """For resources with no state that `discover` did not find: what might be them (address →
        Unrecognised; addresses with no candidates are left out). Never adopts anything."""
        ...


__all__ = ["Candidate", "ReportsUnrecognised", "Unrecognised"]
