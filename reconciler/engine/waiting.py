"""Polling for readiness: backoff that is quick for quick jobs and gentle for hours-long ones.

The first poll comes 50 ms after submitting and each interval is 1.5× the last, capped at 30 s:
something ready at once (a processed file, an instant sandbox job) is noticed at once, a job that
finishes in 20 s is noticed within about 5 % of that, and a 6-hour training job is polled twice
a minute. A provider's Retry-After (raised as TemporaryError by the client) is honoured by the
client itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from reconciler.clock import Clock
from reconciler.models.envelope import parse_duration
from reconciler.providers.interface import Observation, Phase

# Training takes hours, and jobs queue one at a time per account: defaults must allow it.
DEFAULT_TIMEOUTS: dict[str, float] = {
    "Dataset": 2 * 3600.0,
    "FineTune": 72 * 3600.0,
    "CheckpointExport": 6 * 3600.0,
    "Deployment": 3 * 3600.0,
    "Sample": 2 * 3600.0,  # one render; queued behind the tier's concurrent tasks
}


def timeout_for(kind: str, lifecycle: dict[str, Any] | None, operation: str = "create") -> float:
    text = ((lifecycle or {}).get("timeouts") or {}).get(operation)
    return parse_duration(text).total_seconds() if text else DEFAULT_TIMEOUTS.get(kind, 3600.0)


FIRST_POLL_S = 0.05
GROWTH = 1.5
MAX_INTERVAL_S = 30.0


def next_interval(polls: int) -> float:
    """The pause before poll number `polls + 1`."""
    return min(MAX_INTERVAL_S, FIRST_POLL_S * GROWTH ** min(polls, 64))


# The phases `Waiter.until_settled` stops at by default: a poll that reads one of them is the last.
SETTLED_PHASES: frozenset[Phase] = frozenset({Phase.READY, Phase.FAILED, Phase.CANCELED, Phase.GONE})


class WaitTimeout(Exception):
    def __init__(self, last: Observation, waited: float) -> None:
        super().__init__(f"timed out after {waited:.0f}s (status {last.status})")
        self.last = last
        self.waited = waited


class WaitInterrupted(Exception):
    def __init__(self, last: Observation) -> None:
        super().__init__("interrupted")
        self.last = last


class Baton:
    """One thread at a time works for the serial providers (`ApplyOptions.serial_providers`); a
    holder lets go of it while it sleeps, so a wait never stops the others' work."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            self._local.depth = getattr(self._local, "depth", 0) + 1
            try:
                yield
            finally:
                self._local.depth -= 1

    @contextlib.contextmanager
    def let_go(self) -> Iterator[None]:
        """Release the baton for the block if this thread holds it (a no-op otherwise)."""
        depth = getattr(self._local, "depth", 0)
        if not depth:
            yield
            return
        self._local.depth = 0
        for _ in range(depth):
            self._lock.release()
        try:
            yield
        finally:
            for _ in range(depth):
                self._lock.acquire()
            self._local.depth = depth


@dataclass
class Waiter:
    clock: Clock
    stop: threading.Event
    baton: Baton = field(default_factory=Baton)

    def until_settled(
        self,
        first: Observation,
        read: Callable[[], Observation],
        timeout: float,
        on_poll: Callable[[Observation, float], None],
        settled: frozenset[Phase] = SETTLED_PHASES,
    ) -> Observation:
        """Poll `read` until the phase is in `settled`; raise WaitTimeout / WaitInterrupted."""
        start = self.clock.monotonic()
        obs = first
        polls = 0
        while obs.phase not in settled:
            waited = self.clock.monotonic() - start
            if waited >= timeout:
                raise WaitTimeout(obs, waited)
            self._sleep(min(next_interval(polls), max(timeout - waited, 0.0)), obs)
            polls += 1
            obs = read()
            on_poll(obs, self.clock.monotonic() - start)
        return obs

    def pause(self, seconds: float) -> None:
        """Sleep (interruptibly: raises WaitInterrupted on Ctrl-C)."""
        self._sleep(seconds, Observation(remote_id="", phase=Phase.PENDING, status="waiting"))

    def _sleep(self, seconds: float, obs: Observation) -> None:
        # sleep in short slices so Ctrl-C is noticed promptly
        end = self.clock.monotonic() + seconds
        while True:
            if self.stop.is_set():
                raise WaitInterrupted(obs)
            left = end - self.clock.monotonic()
            if left <= 0:
                return
            with self.baton.let_go():
                self.clock.sleep(min(left, 0.25))
