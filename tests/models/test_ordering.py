"""`sorted_rounds` (graphlib) orders exactly as the hand-written rounds it replaced did.

The reference below is the loop `ManifestSet.topological_order` and the planner's reverse order
used before (issue 13): every round is what has all its predecessors placed, sorted by the key.
Random DAGs, seeded, compare the two; a cycle raises instead of looping or dropping nodes.
"""

from __future__ import annotations

import graphlib
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from reconciler.models.resources import sorted_rounds


def reference_rounds(predecessors: Mapping[str, Iterable[str]], key: Callable[[str], Any]) -> list[str]:
    waiting = {a: len(set(p)) for a, p in predecessors.items()}
    followers: dict[str, list[str]] = {}
    for a, preds in predecessors.items():
        for p in set(preds):
            followers.setdefault(p, []).append(a)
    ready = [a for a, n in waiting.items() if n == 0]
    order: list[str] = []
    while ready:
        ready.sort(key=key)
        order.extend(ready)
        following = []
        for a in ready:
            for b in followers.get(a, ()):
                waiting[b] -= 1
                if waiting[b] == 0:
                    following.append(b)
        ready = following
    return order


def random_dag(rng: random.Random, n: int) -> dict[str, set[str]]:
    names = [f"n{i:02d}" for i in range(n)]
    rng.shuffle(names)  # names do not follow the dependency order
    return {names[i]: {names[j] for j in range(i) if rng.random() < 0.2} for i in range(n)}


@pytest.mark.parametrize("seed", range(200))
def test_the_same_order_as_the_hand_written_rounds(seed: int) -> None:
    rng = random.Random(seed)
    graph = random_dag(rng, rng.randint(0, 30))
    rank = {a: rng.randint(0, 3) for a in graph}
    key = lambda a: (rank[a], a)  # noqa: E731
    assert sorted_rounds(graph, key) == reference_rounds(graph, key)


def test_a_cycle_raises() -> None:
    with pytest.raises(graphlib.CycleError):
        sorted_rounds({"a": {"b"}, "b": {"a"}, "c": set()}, key=str)
