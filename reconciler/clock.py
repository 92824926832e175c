"""Time, injectable: everything that waits or timestamps takes a `Clock`.

Tests use `FakeClock`, whose `sleep` advances time instantly, so polling loops, backoff and
the sandbox's compressed job durations are deterministic and cost no wall time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall time; may be fake)."""
        ...

    def monotonic(self) -> float:
        """For measuring elapsed time and deadlines."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A thread-safe clock that only moves when told to (or when something sleeps)."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._t = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def monotonic(self) -> float:
        return self.now()

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds


SYSTEM_CLOCK = SystemClock()
