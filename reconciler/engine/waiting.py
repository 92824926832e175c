"""Polling for readiness: backoff that is quick for quick jobs and gentle for hours-long ones.

The interval grows with the time already waited (10 % of it, between 0.5 s and 30 s), so a
sandbox job that finishes in 20 s is noticed within a second or two, and a 6-hour training job
is polled about twice a minute. A provider's Retry-After (raised as TemporaryError by the
client) is honoured by the client itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.clock import Clock
from reconciler.models.envelope import parse_duration
from reconciler.providers.interface import Observation, Phase

# Training takes hours, and jobs queue one at a time per account: defaults must allow it.
DEFAULT_TIMEOUTS: dict[str, float] = {
    "Dataset": 2 * 3600.0,
    "FineTune": 72 * 3600.0,
    "CheckpointExport": 6 * 3600.0,
    "Deployment": 3 * 3600.0,
}


def timeout_for(kind: str, lifecycle: dict, operation: str = "create") -> float:
    text = ((lifecycle or {}).get("timeouts") or {}).get(operation)
    return parse_duration(text).total_seconds() if text else DEFAULT_TIMEOUTS.get(kind, 3600.0)


def next_interval(waited: float) -> float:
    return min(30.0, max(0.5, waited * 0.1))


class WaitTimeout(Exception):
    def __init__(self, last: Observation, waited: float) -> None:
        super().__init__(f"timed out after {waited:.0f}s (status {last.status})")
        self.last = last
        self.waited = waited


class WaitInterrupted(Exception):
    def __init__(self, last: Observation) -> None:
        super().__init__("interrupted")
        self.last = last


@dataclass
class Waiter:
    clock: Clock
    stop: threading.Event

    def until_settled(
        self,
        first: Observation,
        read: Callable[[], Observation],
        timeout: float,
        on_poll: Callable[[Observation, float], None],
        settled: frozenset[Phase] = frozenset({Phase.READY, Phase.FAILED, Phase.CANCELED, Phase.GONE}),
    ) -> Observation:
        """Poll `read` until the phase is in `settled`; raise WaitTimeout / WaitInterrupted."""
        start = self.clock.monotonic()
        obs = first
        while obs.phase not in settled:
            waited = self.clock.monotonic() - start
            if waited >= timeout:
                raise WaitTimeout(obs, waited)
            self._sleep(min(next_interval(waited), max(timeout - waited, 0.0)), obs)
            obs = read()
            on_poll(obs, self.clock.monotonic() - start)
        return obs

    def _sleep(self, seconds: float, obs: Observation) -> None:
        # sleep in short slices so Ctrl-C is noticed promptly
        end = self.clock.monotonic() + seconds
        while True:
            if self.stop.is_set():
                raise WaitInterrupted(obs)
            left = end - self.clock.monotonic()
            if left <= 0:
                return
            self.clock.sleep(min(left, 0.25))
