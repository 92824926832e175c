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
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reconciler.clock import Clock
from reconciler.models.envelope import parse_duration
from reconciler.providers.interface import Observation, Phase

_T = TypeVar("_T")

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


Pauses = Generator[float, None, _T]
"""A wait written as a generator: it yields each pause it needs (seconds) and returns its result.
`Waiter.run` drives one on the calling thread; the executor's serial loop (`serial_loop`) drives
many from one thread, resuming each when its pause is over."""

SLICE_S = 0.25  # a blocking pause sleeps at most this long at a time, so Ctrl-C is noticed promptly


@dataclass
class Waiter:
    clock: Clock
    stop: threading.Event
    # per thread: what a blocking pause does instead of sleeping (the serial loop runs the polls
    # that fall due meanwhile); it is given the seconds to pass and may return early
    _idle: threading.local = field(default_factory=threading.local)

    def until_settled(
        self,
        first: Observation,
        read: Callable[[], Observation],
        timeout: float,
        on_poll: Callable[[Observation, float], None],
        settled: frozenset[Phase] = SETTLED_PHASES,
    ) -> Observation:
        """Poll `read` until the phase is in `settled`; raise WaitTimeout / WaitInterrupted."""
        return self.run(self.settling(first, read, timeout, on_poll, settled))

    def settling(
        self,
        first: Observation,
        read: Callable[[], Observation],
        timeout: float,
        on_poll: Callable[[Observation, float], None],
        settled: frozenset[Phase] = SETTLED_PHASES,
    ) -> Pauses[Observation]:
        """`until_settled` as `Pauses`."""
        start = self.clock.monotonic()
        obs = first
        polls = 0
        while obs.phase not in settled:
            waited = self.clock.monotonic() - start
            if waited >= timeout:
                raise WaitTimeout(obs, waited)
            yield from self._pausing(min(next_interval(polls), max(timeout - waited, 0.0)), obs)
            polls += 1
            obs = read()
            on_poll(obs, self.clock.monotonic() - start)
        return obs

    def pause(self, seconds: float) -> None:
        """Sleep (interruptibly: raises WaitInterrupted on Ctrl-C)."""
        self.run(self.pausing(seconds))

    def pausing(self, seconds: float) -> Pauses[None]:
        """`pause` as `Pauses`."""
        yield from self._pausing(seconds, Observation(remote_id="", phase=Phase.PENDING, status="waiting"))

    def run(self, pauses: Pauses[_T]) -> _T:
        """Drive `pauses` on this thread: each pause is slept (or idled away, see `idling`)."""
        idle: Callable[[float], None] = getattr(self._idle, "hook", None) or self.clock.sleep
        try:
            while True:
                idle(min(next(pauses), SLICE_S))
        except StopIteration as done:
            result: _T = done.value
            return result

    @contextlib.contextmanager
    def idling(self, hook: Callable[[float], None]) -> Iterator[None]:
        """On this thread, blocking pauses call `hook(seconds)` instead of sleeping."""
        self._idle.hook = hook
        try:
            yield
        finally:
            self._idle.hook = None

    def _pausing(self, seconds: float, obs: Observation) -> Pauses[None]:
        # asks again for what is left after each pause, checking for Ctrl-C before each
        end = self.clock.monotonic() + seconds
        while True:
            if self.stop.is_set():
                raise WaitInterrupted(obs)
            left = end - self.clock.monotonic()
            if left <= 0:
                return
            yield left
