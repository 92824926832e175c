"""Quota-aware scheduling: where each training job waits, what a plan may not exceed, and the slots apply takes.

A provider account runs a limited number of training jobs at once (one, or a tier's three) and
may cap how many exist (say, 20 running or succeeded). The limits come from the provider's
economics, overridden by the Provider manifest's `spec.quota`.

- At plan time (pure): each new training job is placed behind the jobs already running on its
  account (from state and refresh) and the ones planned before it, so the plan can say "queued
  behind 2 jobs, about 9h"; a plan whose jobs would exceed a hard cap is refused before anything is
  submitted, naming the cap and the succeeded jobs whose removal would make room.
- At apply time: `TrainingSlots` is the per-account semaphore. A training submit takes a slot or
  is parked (no worker thread blocks) until a job of that account settles; a job that was already
  running when apply started holds its slot through its WAIT node. So the executor waits for a slot
  instead of being answered 429.
"""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Callable, Mapping

from reconciler.models.diagnostics import Diagnostic
from reconciler.models.plans import Action, ActionType, ReplaceMode
from reconciler.models.resources import ManifestSet
from reconciler.models.state import ResourceRecord
from reconciler.providers.economics import Economics, Quota
from reconciler.providers.interface import Observation, Phase

_NEW_JOB = frozenset({ActionType.CREATE, ActionType.REPLACE})
_FREES = frozenset({ActionType.DELETE, ActionType.CANCEL})
_ENDED = frozenset({Phase.FAILED, Phase.CANCELED, Phase.GONE, Phase.DELETING})

HoursOf = Callable[[str], "float | None"]  # address -> the estimated duration of its training


def schedule_actions(
    actions: list[Action],
    records: Mapping[str, ResourceRecord],
    observations: Mapping[str, Observation],
    economics: Mapping[str, Economics],
    manifests: ManifestSet,
    *,
    now: float,
    hours_of: HoursOf | None = None,
) -> list[Diagnostic]:
    """Annotate new training actions with their queue position; refuse plans over a hard quota."""
    out: list[Diagnostic] = []
    by_address = {a.address: a for a in actions if not a.deposed}
    for provider, eco in sorted(economics.items()):
        quota = eco.quota
        if not quota.kinds:
            continue
        mine = [
            r
            for r in records.values()
            if r.provider == provider and r.kind in quota.kinds and r.remote_id is not None
        ]
        new = [
            a
            for a in actions
            if a.provider == provider and a.kind in quota.kinds and a.action in _NEW_JOB and not a.deposed
        ]
        running = _running(mine, observations, by_address, now, hours_of)
        if quota.concurrent_jobs:
            _place_in_queue(new, running, quota)
        problem = _over_cap(provider, quota, mine, new, observations, by_address, manifests)
        if problem is not None:
            out.append(problem)
    return out


def _running(
    records: list[ResourceRecord],
    observations: Mapping[str, Observation],
    actions: Mapping[str, Action],
    now: float,
    hours_of: HoursOf | None,
) -> list[float | None]:
    """Hours left for each job already running (or queued) on the account, None when unknown."""
    left: list[float | None] = []
    for rec in sorted(records, key=lambda r: r.created_at or ""):
        obs = observations.get(rec.address)
        if obs is None or obs.phase is not Phase.PENDING:
            continue
        a = actions.get(rec.address)
        if a is not None and (a.action in _FREES or a.replace_mode is ReplaceMode.DESTROY_BEFORE_CREATE):
            continue  # canceled before anything new is submitted: it frees its slot
        hours = hours_of(rec.address) if hours_of is not None else None
        if hours is not None and obs.created_at:
            hours = max(0.0, hours - max(0.0, now - obs.created_at) / 3600)
        left.append(hours)
    return left


def _place_in_queue(new: list[Action], running: list[float | None], quota: Quota) -> None:
    """FIFO over `concurrent_jobs` slots: the running jobs first, then the new ones in plan order."""
    slots = quota.concurrent_jobs or 1
    # One entry per slot a job can reach: with more slots than jobs, the slots no job takes stay
    # 0.0 and are never popped before one of the (always at least one) 0.0 slots left in this
    # heap, so every pop, and so every wait, is the one a heap of all `slots` gives. (A raised
    # quota, e.g. 1,000,000 slots, was an 8 MB list per plan, at the peak of its memory.)
    free_at: list[float] = [0.0] * min(slots, len(running) + len(new))
    unknown = False  # once a job ahead has no estimate, later waits are unknown too
    ahead = 0
    for hours in running:
        start = heapq.heappop(free_at)
        unknown = unknown or hours is None
        heapq.heappush(free_at, start + (hours or 0.0))
        ahead += 1
    for a in new:
        start = heapq.heappop(free_at)
        if a.cost is not None:
            a.cost.queued_behind = max(0, ahead - (slots - 1))
            a.cost.queue_wait_hours = None if unknown and a.cost.queued_behind else round(start, 1)
        hours = a.cost.estimated_gpu_hours if a.cost is not None else None
        unknown = unknown or hours is None
        heapq.heappush(free_at, start + (hours or 0.0))
        ahead += 1


def _over_cap(
    provider: str,
    quota: Quota,
    records: list[ResourceRecord],
    new: list[Action],
    observations: Mapping[str, Observation],
    actions: Mapping[str, Action],
    manifests: ManifestSet,
) -> Diagnostic | None:
    if not quota.max_jobs:
        return None
    kept = 0
    deletable: list[str] = []
    for rec in sorted(records, key=lambda r: r.address):
        obs = observations.get(rec.address)
        if obs is not None and obs.phase in _ENDED:
            continue
        a = actions.get(rec.address)
        if a is not None and a.action in _FREES:
            continue
        if (
            a is not None
            and a.action is ActionType.REPLACE
            and a.replace_mode is ReplaceMode.DESTROY_BEFORE_CREATE
        ):
            continue  # the old job goes before the new one is submitted
        kept += 1
        if obs is not None and obs.phase is Phase.READY:
            deletable.append(f"{rec.address} ({rec.remote_id}, {obs.status})")
    peak = kept + len(new)
    if peak <= quota.max_jobs:
        return None
    over = peak - quota.max_jobs
    config = manifests.providers.get(provider)
    kinds = "/".join(quota.kinds)
    if deletable:
        room = (
            f"To make room, delete {over} of the succeeded jobs this state manages by removing their manifests ("
            + ", ".join(deletable[:10])
            + (f" and {len(deletable) - 10} more" if len(deletable) > 10 else "")
            + f"), or plan {over} fewer new jobs"
        )
    else:
        room = f"No succeeded job in this state could be deleted to make room: plan {over} fewer new jobs"
    return Diagnostic(
        f"this plan would have {peak} {kinds} jobs running or succeeded on the account "
        f"({kept} already there, {len(new)} new), above its quota of {quota.max_jobs}: "
        f"{quota.max_jobs_source}"
        + (f' (the provider answers "{quota.max_jobs_message}")' if quota.max_jobs_message else "")
        + f"; nothing was submitted. {room}; if the account's quota was raised, set spec.quota.max_jobs "
        f"in Provider/{provider}",
        location=config.location if config is not None else None,
        address=f"Provider/{provider}",
        field="spec.quota.max_jobs",
    )


class TrainingSlots:
    """The executor's per-provider-account semaphore for training jobs (never blocks a thread).

    `take` gives a slot or parks the caller's key; `give_back` frees a slot and returns the parked
    keys that may now start. Callers hold the executor's lock around both.
    """

    def __init__(self, limits: Mapping[str, Quota]) -> None:
        self.limits = {p: q for p, q in limits.items() if q.concurrent_jobs and q.kinds}
        self.held: dict[str, set[str]] = {p: set() for p in self.limits}
        self.parked: dict[str, deque[str]] = {p: deque() for p in self.limits}
        self.lock = threading.Lock()

    def needs_slot(self, action: Action) -> bool:
        quota = self.limits.get(action.provider)
        return quota is not None and action.kind in quota.kinds and not action.deposed

    def take(self, provider: str, key: str) -> bool:
        quota = self.limits[provider]
        held = self.held[provider]
        if key in held:
            return True
        if len(held) < (quota.concurrent_jobs or 1):
            held.add(key)
            return True
        self.parked[provider].append(key)
        return False

    def reserve(self, provider: str, key: str) -> None:
        """Hold a slot for a job already running on the account, before anything new is submitted
        (never parks: a running job beyond the limit takes its turn like any other)."""
        quota = self.limits[provider]
        if len(self.held[provider]) < (quota.concurrent_jobs or 1):
            self.held[provider].add(key)

    def give_back(self, provider: str, key: str) -> list[str]:
        held = self.held.get(provider)
        if held is None or key not in held:
            return []
        held.discard(key)
        parked = self.parked[provider]
        return [parked.popleft()] if parked else []

    def still_parked(self) -> list[tuple[str, str]]:
        return [(p, k) for p, keys in self.parked.items() for k in keys]
