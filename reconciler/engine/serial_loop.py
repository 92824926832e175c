"""The serial providers' loop: their steps one at a time, and their waits' polls between them, on one thread.

A serial provider (`ApplyOptions.serial_providers`, the embedded sandbox) is pure CPU in this
process, so its calls cannot overlap anyway. Run from a worker for the steps and a thread per wait
that took a baton between sleeps, every poll cost two hand-offs of the interpreter lock (~18 % of
an N = 1000 apply's samples), every step a queued future, and up to ~30 threads sat asleep. Here a
launched step is a key in a deque, and a wait is a generator (`waiting.Pauses`) on a timer heap,
resumed when its pause is over. Due polls go before the next step (they are short, and what they
settle releases the next steps). A step that pauses inline (an ambiguous create looked up again,
a delete waited out) resumes the waits that fall due meanwhile, never another step.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

from reconciler.clock import Clock, SystemClock
from reconciler.engine.waiting import SLICE_S, Pauses, Waiter

log = logging.getLogger("reconciler.engine")
_K = TypeVar("_K")

Start = Callable[[_K], "Pauses[None] | None"]  # runs a step; a wait it leaves is resumed by the loop


class SerialLoop(Generic[_K]):
    """Use as a context manager: the thread starts on entry; exit waits until every step and wait is done."""

    def __init__(self, start: Start[_K], waiter: Waiter, *, name: str = "apply-serial") -> None:
        self._start = start
        self._waiter = waiter
        self._clock: Clock = waiter.clock
        self._stop = waiter.stop
        # a fake clock moves only when slept on: waiting on the condition would never bring a poll due
        self._real_time = isinstance(self._clock, SystemClock)
        self._steps: deque[_K] = deque()
        self._timers: list[tuple[float, int, Pauses[None]]] = []  # (due, tie-break, wait): this thread's own
        self._order = itertools.count()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name)

    def submit(self, key: _K) -> None:
        with self._cond:
            self._steps.append(key)
            self._cond.notify()

    def __enter__(self) -> SerialLoop[_K]:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    # ------------------------------------------------------------------ the thread
    def _loop(self) -> None:
        with self._waiter.idling(self._idle):
            while (key := self._next_step()) is not None:
                try:
                    pauses = self._start(key)
                except Exception:  # the executor guards its steps: this is a bug, not a step's failure
                    log.exception("serial step %s", key)
                    continue
                if pauses is not None:
                    self._resume(pauses)

    def _next_step(self) -> _K | None:
        """The next step to start, resuming due waits until there is one; None once closed and idle."""
        while True:
            left = self._run_due()
            with self._cond:
                if self._steps:
                    return self._steps.popleft()
                if left is None and self._closed:
                    return None
                if left is None or self._real_time:
                    # woken at once by a new step; the slice notices Ctrl-C (`stop`) promptly
                    self._cond.wait(SLICE_S if left is None else min(left, SLICE_S))
                    continue
            self._clock.sleep(left)

    def _run_due(self) -> float | None:
        """Resume every wait whose pause is over (every wait once `stop` is set: each notices it
        and ends); the seconds until the next is due, or None when none is left."""
        while self._timers:
            now = self._clock.monotonic()
            due = self._timers[0][0]
            if due > now and not self._stop.is_set():
                return due - now
            _, _, pauses = heapq.heappop(self._timers)
            self._resume(pauses)
        return None

    def _resume(self, pauses: Pauses[None]) -> None:
        try:
            pause = next(pauses)
        except StopIteration:
            return
        except Exception:  # as in `_loop`: the executor's waits end in an outcome, not an exception
            log.exception("serial wait")
            return
        heapq.heappush(self._timers, (self._clock.monotonic() + pause, next(self._order), pauses))

    def _idle(self, seconds: float) -> None:
        """A step pausing inline on this thread (`Waiter.run`): the waits that fall due meanwhile go on."""
        end = self._clock.monotonic() + seconds
        while True:
            left = self._run_due()
            remaining = end - self._clock.monotonic()
            if remaining <= 0:
                return
            self._clock.sleep(remaining if left is None else min(remaining, left))
