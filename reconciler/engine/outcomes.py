"""What an apply did, resource by resource (Terraform's "partial state plus diagnostics")."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # a dependency failed, or the run was interrupted before it started
    DEFERRED = (
        "deferred"  # --no-wait: waiting on a dependency that is not ready yet; the next apply continues
    )
    SUBMITTED = "submitted"  # --no-wait: accepted by the provider, not ready yet


@dataclass(slots=True)  # an apply keeps one per resource: no `__dict__` each
class ResourceOutcome:
    address: str
    action: str
    outcome: Outcome
    message: str = ""
    remote_id: str | None = None
    elapsed: float = 0.0


@dataclass
class ApplyResult:
    outcomes: dict[str, ResourceOutcome] = field(default_factory=dict)
    interrupted: bool = False

    def by(self, outcome: Outcome) -> list[ResourceOutcome]:
        return [o for o in self.outcomes.values() if o.outcome is outcome]

    @property
    def ok(self) -> bool:
        return not self.by(Outcome.FAILED) and not self.interrupted

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1
