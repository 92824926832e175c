"""The remote ids an apply's resources own, as one shared, growing, read-only view.

Why: a create or an ambiguous create's look-up must never take another resource's object for its
own, so each is told every id already owned. Handed a copy of all of them, each create copied the
whole set twice (the executor's snapshot, then the adapter's): quadratic in the resources applied,
~30 µs a create at 2,000 owned ids, and the only provider that reads it (a deployment's 409) reads
it rarely. The view is not copied; it only grows, so a provider that looks at it late sees more
owners, never fewer, which is the safe side of "never adopt an object twice". Providers that add
their own batch's claims take a `set(...)` of it first (they already do).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet


class Claims(AbstractSet[str]):
    """Thread-safe: workers claim while others read. Iterating walks a snapshot."""

    __slots__ = ("_ids", "_lock")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids: set[str] = set(ids)
        self._lock = threading.Lock()

    def add(self, remote_id: str) -> None:
        with self._lock:
            self._ids.add(remote_id)

    def __contains__(self, remote_id: object) -> bool:
        with self._lock:
            return remote_id in self._ids

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._ids))

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __repr__(self) -> str:
        return f"Claims({len(self)} ids)"
