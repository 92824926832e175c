"""What an apply reports as it runs, as typed values: for the Python API's `on_event` callback, the
`--json` stream and the live view alike (they all consume the same events).

`EventSink` turns the executor's `ProgressSink` calls into these events. Retries happen below the
engine, in the provider clients; they reach the callback through the `reconciler.providers.http`
logger (`retry_events`), so no client needs to know about callbacks.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.engine.outcomes import ResourceOutcome

if TYPE_CHECKING:
    import logging


@dataclass(frozen=True)
class ResourceStarted:
    address: str
    action: str  # create | update | replace | delete | … | "delete old"


@dataclass(frozen=True)
class ResourceProgress:
    """A wait's news: the provider's status word (each poll; `changed` when it is a new one)."""

    address: str
    status: str  # the provider's own word: RUNNING, QUEUING, processing…
    elapsed: float  # seconds since this step started waiting
    changed: bool
    remote_id: str | None = None
    hint: str | None = None  # what the provider reports beyond the status (queue position, …)
    remaining: float | None = None  # estimated seconds left (from the plan's cost estimate), when known


@dataclass(frozen=True)
class ResourceRetried:
    """A provider request is sent again after a temporary failure (429, 503, a dropped connection)."""

    provider: str
    operation: str
    error: str  # the error class, e.g. RateLimitedError
    attempt: int  # 1 for the first retry
    max_retries: int
    wait: float  # seconds it waits before the retry
    status: int | None = None  # the HTTP status, when there was an answer
    retry_after: float | None = None  # what the provider's Retry-After asked for


@dataclass(frozen=True)
class ResourceFinished:
    address: str
    action: str
    outcome: str  # succeeded | failed | skipped | submitted | deferred
    message: str
    elapsed: float
    remote_id: str | None = None


ApplyEvent = ResourceStarted | ResourceProgress | ResourceRetried | ResourceFinished
EventCallback = Callable[[ApplyEvent], None]


class EventSink:
    """A `ProgressSink` that calls `callback` with one typed event per report (thread-safe: one lock).

    `estimates` (address -> expected seconds for its wait, from the plan's cost) fill `remaining`.
    """

    wants_ids = True  # the executor looks up the remote id a finished step recorded

    def __init__(self, callback: EventCallback, estimates: Mapping[str, float] | None = None) -> None:
        self.callback = callback
        self.estimates = dict(estimates or {})
        self._lock = threading.Lock()
        self._last: dict[str, str] = {}

    def started(self, address: str, action: str) -> None:
        with self._lock:
            self._last.pop(address, None)
            self.callback(ResourceStarted(address, action))

    def waiting(
        self, address: str, status: str, elapsed: float, hint: str | None, remote_id: str | None = None
    ) -> None:
        with self._lock:
            changed = self._last.get(address) != status
            self._last[address] = status
            expected = self.estimates.get(address)
            remaining = max(expected - elapsed, 0.0) if expected is not None else None
            self.callback(ResourceProgress(address, status, elapsed, changed, remote_id, hint, remaining))

    def finished(self, outcome: ResourceOutcome) -> None:
        with self._lock:
            self._last.pop(outcome.address, None)
            self.callback(
                ResourceFinished(
                    outcome.address,
                    outcome.action,
                    str(outcome.outcome),
                    outcome.message,
                    outcome.elapsed,
                    outcome.remote_id,
                )
            )


@functools.cache
def _retry_handler_class() -> Callable[[EventCallback], logging.Handler]:
    """The handler class, made on first use: `logging` is imported only by an apply that reports events."""
    import logging

    class RetryHandler(logging.Handler):
        def __init__(self, callback: EventCallback) -> None:
            super().__init__(logging.INFO)
            self.callback = callback

        def emit(self, record: logging.LogRecord) -> None:
            if getattr(record, "event", None) != "retry":
                return
            data = record.__dict__
            self.callback(
                ResourceRetried(
                    provider=str(data.get("provider", "")),
                    operation=str(data.get("operation", "")),
                    error=str(data.get("error_class", "")),
                    attempt=int(data.get("attempt", 0)),
                    max_retries=int(data.get("max_retries", 0)),
                    wait=float(data.get("wait_s", 0.0)),
                    status=data.get("status"),
                    retry_after=data.get("retry_after"),
                )
            )

    return RetryHandler


RETRY_LOGGER = "reconciler.providers.http"


@contextlib.contextmanager
def retry_events(callback: EventCallback) -> Iterator[None]:
    """While the block runs, each provider retry is also a `ResourceRetried` event for `callback`."""
    import logging

    logger = logging.getLogger(RETRY_LOGGER)
    handler = _retry_handler_class()(callback)
    previous = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)  # retries are logged at INFO; let them reach the handler
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


__all__ = [
    "ApplyEvent",
    "EventCallback",
    "EventSink",
    "ResourceFinished",
    "ResourceProgress",
    "ResourceRetried",
    "ResourceStarted",
    "retry_events",
]
