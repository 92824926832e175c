"""Live progress: one line per status change off a terminal, a live table on one; thread-safe."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from reconciler.engine.outcomes import Outcome, ResourceOutcome
from reconciler.engine.progress import ProgressSink
from reconciler.render import RichProgress, make_console


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_log_mode_prints_only_status_changes() -> None:
    buffer = io.StringIO()
    clock = FakeClock()
    progress: ProgressSink = RichProgress(make_console(buffer, no_color=True), clock=clock)
    progress.started("FineTune/x", "create")
    for elapsed in (5, 35, 65):
        progress.waiting(
            "FineTune/x", "QUEUING", elapsed, "queued: one training job runs at a time per account"
        )
    for elapsed in (130, 160, 19_620):
        progress.waiting("FineTune/x", "RUNNING", elapsed, None)
    progress.finished(ResourceOutcome("FineTune/x", "create", Outcome.SUCCEEDED, "SUCCEEDED", "ft-1", 19_650))
    assert buffer.getvalue().splitlines() == [
        "FineTune/x: create started",
        "FineTune/x: QUEUING (5s) queued: one training job runs at a time per account",
        "FineTune/x: RUNNING (2m10s)",
        "FineTune/x: succeeded  ft-1  (5h27m)",
    ]


def test_failures_say_why() -> None:
    buffer = io.StringIO()
    progress = RichProgress(make_console(buffer, no_color=True))
    progress.finished(ResourceOutcome("Deployment/d", "create", Outcome.FAILED, "quota exceeded", elapsed=2))
    assert buffer.getvalue() == "Deployment/d: failed  (2s): quota exceeded\n"


def test_many_threads_one_line_each() -> None:
    buffer = io.StringIO()
    progress = RichProgress(make_console(buffer, no_color=True))
    addresses = [f"FineTune/job-{i}" for i in range(40)]

    def work(address: str) -> None:
        progress.started(address, "create")
        for tick in range(50):
            progress.waiting(address, "RUNNING", tick, None)
        progress.finished(ResourceOutcome(address, "create", Outcome.SUCCEEDED, elapsed=50))

    threads = [threading.Thread(target=work, args=(a,)) for a in addresses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 40 * 3
    assert all(
        line.count(":") >= 1 and line.startswith("FineTune/job-") for line in lines
    )  # none interleaved


def test_live_mode_on_a_terminal_shows_in_flight_resources() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system=None)
    clock = FakeClock()
    with RichProgress(console, clock=clock, refresh_per_second=50) as progress:
        assert progress.use_live
        progress.started("FineTune/x", "create")
        progress.waiting("FineTune/x", "RUNNING", 120.0, "step 300/900")
        clock.t += 30  # elapsed keeps counting between polls
        table = Console(file=io.StringIO(), width=100, color_system=None)
        table.print(progress.render())
        shown = table.file.getvalue()  # type: ignore[attr-defined]
        assert "FineTune/x" in shown and "RUNNING" in shown and "2m30s" in shown and "step 300/900" in shown
        progress.finished(ResourceOutcome("FineTune/x", "create", Outcome.SUCCEEDED, elapsed=150))
        shown = Console(file=io.StringIO(), width=100)
        shown.print(progress.render())
        assert "FineTune/x" not in shown.file.getvalue()  # type: ignore[attr-defined]
    assert "FineTune/x: succeeded" in buffer.getvalue()
    progress.waiting("FineTune/y", "RUNNING", 1, None)  # after close: no live display is restarted
    assert progress._live is None
