"""`SerialLoop`: one thread runs the serial providers' steps in order and resumes their waits
(generators of pauses) when each pause is over — between steps, and during a step's inline pause."""

from __future__ import annotations

import threading
import time

from reconciler.clock import FakeClock, SystemClock
from reconciler.engine.serial_loop import SerialLoop
from reconciler.engine.waiting import Pauses, Waiter, WaitInterrupted

T0 = 1_767_225_600.0


def test_steps_run_in_order_and_waits_resume_when_their_pause_is_over() -> None:
    clock = FakeClock()
    waiter = Waiter(clock, threading.Event())
    log: list[tuple[str, float]] = []

    def wait(key: str, seconds: float) -> Pauses[None]:
        yield from waiter.pausing(seconds)
        log.append((f"{key} waited", clock.now() - T0))

    def start(key: str) -> Pauses[None] | None:
        log.append((key, clock.now() - T0))
        return wait(key, {"a": 5.0, "b": 2.0}[key]) if key in ("a", "b") else None

    with SerialLoop(start, waiter) as loop:
        for key in ("a", "b", "c"):
            loop.submit(key)
    assert log == [("a", 0.0), ("b", 0.0), ("c", 0.0), ("b waited", 2.0), ("a waited", 5.0)]


def test_a_step_pausing_inline_lets_the_due_waits_go_on() -> None:
    clock = FakeClock()
    waiter = Waiter(clock, threading.Event())
    log: list[str] = []

    def wait() -> Pauses[None]:
        yield from waiter.pausing(1.0)
        log.append("polled")

    def start(key: str) -> Pauses[None] | None:
        if key == "waits":
            return wait()
        waiter.pause(5.0)  # e.g. an ambiguous create looked up again later
        log.append("paused")
        return None

    with SerialLoop(start, waiter) as loop:
        loop.submit("waits")
        loop.submit("pauses")
    assert log == ["polled", "paused"]
    assert clock.now() - T0 == 5.0


def test_once_stop_is_set_every_wait_is_resumed_at_once_and_ends() -> None:
    stop = threading.Event()
    waiter = Waiter(SystemClock(), stop)
    ended: list[str] = []

    def wait() -> Pauses[None]:
        try:
            yield from waiter.pausing(3600.0)
        except WaitInterrupted:
            ended.append("interrupted")

    def run() -> None:
        with SerialLoop(lambda key: wait(), waiter) as loop:
            loop.submit("a")
            time.sleep(0.05)
            stop.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive()
    assert ended == ["interrupted"]


def test_a_step_submitted_from_another_thread_starts_without_waiting_for_a_pause() -> None:
    waiter = Waiter(SystemClock(), threading.Event())
    started: dict[str, float] = {}

    def wait() -> Pauses[None]:
        yield from waiter.pausing(2.0)

    def start(key: str) -> Pauses[None] | None:
        started[key] = time.monotonic()
        return wait() if key == "a" else None

    with SerialLoop(start, waiter) as loop:
        loop.submit("a")
        time.sleep(0.05)
        sent = time.monotonic()
        loop.submit("b")
        time.sleep(0.3)
        assert "b" in started and started["b"] - sent < 0.2  # not after a's 2 s pause


def test_a_step_that_raises_does_not_stop_the_loop() -> None:
    waiter = Waiter(FakeClock(), threading.Event())
    ran: list[str] = []

    def start(key: str) -> Pauses[None] | None:
        if key == "bug":
            raise RuntimeError("a bug")
        ran.append(key)
        return None

    with SerialLoop(start, waiter) as loop:
        loop.submit("bug")
        loop.submit("fine")
    assert ran == ["fine"]
