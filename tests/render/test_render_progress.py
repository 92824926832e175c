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


def test_off_a_terminal_a_wait_prints_at_every_change_and_at_least_every_30_seconds() -> None:
    """CI kills a job that prints nothing for a while: a six-hour training must never be silent."""
    buffer = io.StringIO()
    clock = FakeClock()
    progress = RichProgress(
        make_console(buffer, no_color=True), clock=clock, estimates={"FineTune/x": 3600.0}
    )
    progress.started("FineTune/x", "create")
    progress.waiting("FineTune/x", "RUNNING", 0.0, None, remote_id="ft-1")
    printed_at = [clock.t]
    for _ in range(2 * 3600):  # two hours of one-second ticks, one poll every 30 s (the engine's cap)
        clock.t += 1
        before = buffer.getvalue().count("\n")
        if int(clock.t) % 30 == 7:
            progress.waiting("FineTune/x", "RUNNING", clock.t - 1000, None, remote_id="ft-1")
        progress.tick()
        if buffer.getvalue().count("\n") > before:
            printed_at.append(clock.t)
    gaps = [b - a for a, b in zip(printed_at, printed_at[1:], strict=False)]
    assert gaps and max(gaps) <= 30.0
    assert len(printed_at) < 2 * 3600 / 29  # and not a line per tick
    lines = buffer.getvalue().splitlines()
    assert lines[1] == "FineTune/x: ft-1 RUNNING (0s), about 1h00m left (estimate)"
    assert lines[2] == "FineTune/x: ft-1 RUNNING (30s), about 59m30s left (estimate) (still waiting)"
    progress.waiting("FineTune/x", "SUCCEEDED", 7200.0, None, remote_id="ft-1")  # a change: at once
    assert buffer.getvalue().splitlines()[-1] == "FineTune/x: ft-1 SUCCEEDED (2h00m)"


def test_the_live_table_shows_phase_status_id_progress_elapsed_and_what_remains() -> None:
    clock = FakeClock()
    console = Console(file=io.StringIO(), force_terminal=True, width=140, color_system=None)
    progress = RichProgress(console, clock=clock, estimates={"FineTune/x": 600.0}, live=False)
    progress.started("FineTune/x", "replace")
    progress.waiting(
        "FineTune/x", "QUEUING", 100.0, "queued: one training job runs at a time", remote_id="ft-9"
    )
    clock.t += 20
    out = Console(file=io.StringIO(), width=140, color_system=None)
    out.print(progress.render())
    header, row = out.file.getvalue().splitlines()[:2]  # type: ignore[attr-defined]
    assert header.split() == ["resource", "phase", "status", "id", "progress", "elapsed", "left", "(est.)"]
    assert row.split()[:4] == ["FineTune/x", "replace", "QUEUING", "ft-9"]
    assert "queued: one training job runs at a time" in row and "2m00s" in row and "~8m00s" in row


def test_the_plain_fast_path_writes_what_rich_would() -> None:
    """Off a terminal lines are written without rich; they must be the bytes rich printed."""

    def drive(progress: RichProgress, clock: FakeClock) -> None:
        progress.started("FineTune/x", "create")
        progress.waiting("FineTune/x", "RUNNING", 5, "epoch 1/3", remote_id="ft-1")
        clock.t += 40
        progress.tick()
        progress.waiting("FineTune/x", "with\ttab", 50, None)
        progress.finished(
            ResourceOutcome("FineTune/x", "create", Outcome.FAILED, "boom: it\tfailed", "ft-1", 60)
        )
        progress.finished(ResourceOutcome("Dataset/d", "create", Outcome.SUCCEEDED, "ok", "file-1", 1))

    outputs = []
    for fast in (True, False):
        buffer, clock = io.StringIO(), FakeClock()
        progress = RichProgress(
            make_console(buffer, no_color=True), clock=clock, estimates={"FineTune/x": 600}
        )
        assert progress._plain
        progress._plain = fast
        drive(progress, clock)
        outputs.append(buffer.getvalue())
    assert outputs[0] == outputs[1]
    assert "FineTune/x: failed  ft-1  (1m00s): boom: it" in outputs[0]
