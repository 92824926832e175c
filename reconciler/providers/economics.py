"""What a provider charges and allows: the small typed protocol the planner and executor call.

Every fact here is the provider's: its price table (each price with its source), how a spec turns
into billable quantities (training tokens, steps, GPU-hours), which usage its objects report once
they ran, and its documented job quotas. The engine multiplies and adds; it never knows a price,
a model id or a status word. Nothing in `ProviderEconomics` does I/O, so a plan stays pure and
`plan --refresh=false` offline. Prices that need a call (WaveSpeed's pricing endpoint) come from an
adapter that also implements `PriceQuoter`, asked by the workspace before planning.

Another kind (e.g. a Sample that renders with a LoRA) joins by answering `quantities()` and
`price_keys()` for its kind in the provider's economics: nothing in the engine changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from reconciler.models.costs import Price, PriceOverride, QuotaOverride
from reconciler.models.state import ResourceRecord


@dataclass(frozen=True)
class Work:
    """One action's work, as the planner knows it before anything runs."""

    kind: str
    spec: Mapping[str, Any]  # the effective spec
    training_steps: int | None = None  # from the spec and the dataset's sample count
    gpu_hours: float | None = None  # the spec model's estimate of the training's duration
    samples: int = 0  # training samples in the referenced datasets


@dataclass(frozen=True)
class Quota:
    """A provider account's job limits (documented defaults, or the manifest's `spec.quota`)."""

    kinds: tuple[str, ...] = ()  # the kinds whose objects count against it (training jobs)
    concurrent_jobs: int | None = None  # None: no documented limit
    max_jobs: int | None = None  # running-or-succeeded objects on the account; None: no limit
    concurrent_source: str = ""
    max_jobs_source: str = ""
    # what a refused submit says at the limit (so a user recognises it); display only
    max_jobs_message: str = ""

    def with_override(self, override: QuotaOverride | None) -> Quota:
        if override is None:
            return self
        out = self
        if override.concurrent_jobs is not None:
            out = _replace(
                out, concurrent_jobs=override.concurrent_jobs, concurrent_source="spec.quota.concurrent_jobs"
            )
        if override.max_jobs is not None:
            out = _replace(out, max_jobs=override.max_jobs, max_jobs_source="spec.quota.max_jobs")
        return out


def _replace(q: Quota, **changes: Any) -> Quota:
    from dataclasses import replace

    return replace(q, **changes)


class ProviderEconomics(Protocol):
    """Pure: prices, quantities, reported usage and quotas of one provider type."""

    def price_table(self) -> Mapping[str, Price]:
        """Built-in prices by key (a model id or a kind name), each with its source."""
        ...

    def price_keys(self, work: Work) -> list[str]:
        """The keys a price for this work may be found under, most specific first."""
        ...

    def quantities(self, work: Work) -> dict[str, float]:
        """Billable quantities of this work by price unit (`gpu_hour` also feeds the plan's GPU-hours)."""
        ...

    def used(self, kind: str, observed: Mapping[str, Any] | None) -> dict[str, float]:
        """The quantities the provider object reports as used (DashScope `usage`, WaveSpeed timings)."""
        ...

    def quota(self) -> Quota:
        """The documented account limits."""
        ...


@runtime_checkable
class PriceQuoter(Protocol):
    """Optional adapter capability: ask the provider's pricing endpoint (one call per distinct request)."""

    def quote(self, kind: str, spec: Mapping[str, Any]) -> Price | None: ...


@runtime_checkable
class FailureExplainer(Protocol):
    """Optional adapter capability: the tail of a failed job's logs (never a secret)."""

    def failure_logs(self, record: ResourceRecord, lines: int) -> list[str]: ...


@dataclass
class PriceBook:
    """Where the planner looks a price up: manifest override, then endpoint quote, then the table."""

    provider: str
    table: Mapping[str, Price] = field(default_factory=dict)
    overrides: Mapping[str, PriceOverride] = field(default_factory=dict)
    quotes: Mapping[str, Price] = field(default_factory=dict)  # address -> price of that exact request

    def lookup(self, address: str, keys: list[str]) -> Price | None:
        for key in keys:
            if key in self.overrides:
                return self.overrides[key].price(self.provider, key)
        if address in self.quotes:
            return self.quotes[address]
        for key in keys:
            if key in self.table:
                return self.table[key]
        return None


@dataclass
class Economics:
    """One provider's pure economics plus this run's prices and quota: what the planner is handed."""

    model: ProviderEconomics
    book: PriceBook
    quota: Quota
