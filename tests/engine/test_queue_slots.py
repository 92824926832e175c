"""`scheduling._place_in_queue` keeps one heap entry per slot a job can reach, not one per slot.

Why: a raised quota (the benchmarks' `concurrent_jobs: 1000000`) made an 8 MB list in every plan,
at the peak of its memory. The waits must be exactly those of a heap of every slot: the reference
below is the algorithm as it was, run over random queues against the bounded one.
"""

from __future__ import annotations

import heapq
import random
import tracemalloc
from types import SimpleNamespace
from typing import Any

from reconciler.engine import scheduling
from reconciler.models.plans import Cost


def _reference(new: list[Any], running: list[float | None], slots: int) -> list[tuple[Any, Any]]:
    free_at = [0.0] * slots
    unknown, ahead, out = False, 0, []
    for hours in running:
        start = heapq.heappop(free_at)
        unknown = unknown or hours is None
        heapq.heappush(free_at, start + (hours or 0.0))
        ahead += 1
    for hours in new:
        start = heapq.heappop(free_at)
        behind = max(0, ahead - (slots - 1))
        out.append((behind, None if unknown and behind else round(start, 1)))
        unknown = unknown or hours is None
        heapq.heappush(free_at, start + (hours or 0.0))
        ahead += 1
    return out


def _placed(new: list[float | None], running: list[float | None], slots: int | None) -> list[tuple[Any, Any]]:
    actions = [SimpleNamespace(cost=Cost(estimated_gpu_hours=h)) for h in new]
    scheduling._place_in_queue(actions, running, SimpleNamespace(concurrent_jobs=slots))  # type: ignore[arg-type]  # the fields it reads
    return [(a.cost.queued_behind, a.cost.queue_wait_hours) for a in actions]


def test_waits_are_those_of_a_heap_of_every_slot() -> None:
    rng = random.Random(9)
    hours = [None, 0.0, 0.5, 1.0, 2.5, 6.0, 13.7]
    for _ in range(600):
        running = [rng.choice(hours) for _ in range(rng.randrange(0, 6))]
        new = [rng.choice(hours) for _ in range(rng.randrange(0, 8))]
        slots = rng.choice([1, 2, 3, 4, 5, 7, 12, 13, 14, 40, 1000])
        assert _placed(new, running, slots) == _reference(new, running, slots), (running, new, slots)
    assert _placed([1.0, 2.0], [], None) == _reference([1.0, 2.0], [], 1)  # no documented limit: one slot


def test_a_huge_quota_costs_no_memory() -> None:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        waits = _placed([3.0, None, 1.0], [2.0], 10**7)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert waits == [(0, 0.0), (0, 0.0), (0, 0.0)]
    assert peak < 100_000  # a list of 10**7 slots is 80 MB
