"""Live progress for long applies (training takes hours): per-resource status, elapsed, queue hint.

`RichProgress` satisfies the engine's `ProgressSink` protocol by shape (render and engine are
sibling layers and do not import each other). The engine calls it from worker threads, so every
method takes one lock. On a terminal it keeps a `rich.live` table of what is in flight and prints
a line when something finishes; elsewhere (CI logs, pipes) it prints one line per *change* of
status — a job polled every 30 s for 5 hours must not write 600 identical lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from reconciler.models.envelope import format_duration
from reconciler.render.apply_text import OutcomeLike, outcome_detail
from reconciler.render.terminal import StyledLine, as_rich_plain, print_lines

if TYPE_CHECKING:  # rich is imported for a terminal's live table only: CI's plain lines need none
    from rich.console import Console, RenderableType
    from rich.live import Live

_OUTCOME_STYLES = {
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "yellow",
    "submitted": "cyan",
    "deferred": "cyan",
}


HEARTBEAT_S = 30.0  # off a terminal, a wait prints at least this often (CI kills silent jobs)


@dataclass
class _Running:
    action: str
    status: str = "starting"
    hint: str | None = None
    remote_id: str | None = None
    elapsed: float = 0.0  # as last reported by the engine
    reported_at: float = 0.0  # our clock when it was reported
    printed_at: float = 0.0  # our clock when its last line was printed (log mode)


class RichProgress:
    """Use as a context manager around apply (or call `close()`); starts lazily on the first event.

    `estimates` (address -> expected seconds of its wait, from the plan's cost estimate) give the
    "left" column. Off a terminal a line is printed at every status change and, while something is
    waiting, at least every `heartbeat_s` (a daemon ticker; tests call `tick()` with a fake clock).
    """

    wants_ids = True  # the executor passes the remote id of each finished step

    def __init__(
        self,
        console: Console,
        *,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_per_second: float = 4,
        estimates: Mapping[str, float] | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        ticker: bool = False,
        hint: Callable[[str], str] = str,
    ) -> None:
        self.console = console
        self.clock = clock
        self.use_live = console.is_terminal if live is None else live
        self.estimates = dict(estimates or {})
        self.heartbeat_s = heartbeat_s
        self.hint = hint  # completes the commands a message suggests (the CLI gives them this run's -f)
        self._lock = threading.Lock()  # our data
        self._live_guard = threading.Lock()  # starting/stopping the Live display
        self._running: dict[str, _Running] = {}
        self._live: Live | None = None
        self._refresh = refresh_per_second
        self._closed = False
        self._stop_ticker = threading.Event()
        # A plain console off a terminal gets each line written as it is, without building a rich
        # Text for it (what `print_lines` writes there anyway): an apply prints three lines a resource.
        self._plain = (
            not self.use_live
            and console.color_system is None
            and console.no_color
            and not console.is_terminal
        )
        if ticker and not self.use_live:
            threading.Thread(target=self._tick_forever, name="progress-heartbeat", daemon=True).start()

    # ------------------------------------------------------------------ ProgressSink
    # Lock discipline: `_lock` guards our data only and is never held while calling rich (rich's
    # Live refresh thread holds its own lock and then calls `render`, which takes ours).
    def started(self, address: str, action: str) -> None:
        now = self.clock()
        with self._lock:
            self._running[address] = _Running(action=action, reported_at=now, printed_at=now)
        if not self._ensure_live():
            self._print(f"{address}: {action} started")

    def waiting(
        self, address: str, status: str, elapsed: float, hint: str | None, remote_id: str | None = None
    ) -> None:
        now = self.clock()
        with self._lock:
            entry = self._running.setdefault(address, _Running(action="", printed_at=now))
            changed = status != entry.status
            entry.status, entry.hint, entry.elapsed, entry.reported_at = status, hint, elapsed, now
            entry.remote_id = remote_id or entry.remote_id
            if changed:
                entry.printed_at = now
            line = self._line(address, entry, now) if changed else None
        if not self._ensure_live() and line is not None:
            self._print(line)

    def finished(self, outcome: OutcomeLike) -> None:
        with self._lock:
            self._running.pop(outcome.address, None)
        detail = self.hint(outcome_detail(outcome))
        self._ensure_live()
        if self._plain:
            self._print(f"{outcome.address}: {str(outcome.outcome)}{detail}")
            return
        outcome_word = str(outcome.outcome)
        style = _OUTCOME_STYLES.get(outcome_word, "")
        # on a terminal, Live prints it above the table
        self._print(StyledLine(f"{outcome.address}: ", "", ((outcome_word, style), (detail, ""))))

    def tick(self) -> None:
        """Off a terminal: a line for each wait that printed nothing for `heartbeat_s`."""
        if self.use_live:
            return
        now = self.clock()
        with self._lock:
            due = []
            for address, entry in sorted(self._running.items()):
                if entry.status != "starting" and now - entry.printed_at >= self.heartbeat_s:
                    entry.printed_at = now
                    due.append(self._line(address, entry, now) + " (still waiting)")
        for line in due:
            self._print(line)

    def _tick_forever(self) -> None:
        while not self._stop_ticker.wait(1.0):
            self.tick()

    def _line(self, address: str, entry: _Running, now: float) -> str:
        elapsed = entry.elapsed + max(now - entry.reported_at, 0.0)
        line = status_line(address, entry.status, elapsed, entry.hint, entry.remote_id)
        left = self._remaining(address, elapsed)
        return line + (f", about {format_duration(left)} left (estimate)" if left else "")

    def _remaining(self, address: str, elapsed: float) -> float | None:
        expected = self.estimates.get(address)
        if expected is None or expected - elapsed < 1.0:
            return None  # no estimate, or past it: "0s left" would say something false
        return expected - elapsed

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> RichProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop_ticker.set()
        with self._live_guard:
            self._closed = True
            live, self._live = self._live, None
        if live is not None:
            live.stop()

    # ------------------------------------------------------------------ rendering
    def render(self) -> RenderableType:
        """The live table: one row per resource in flight (also used by tests)."""
        from rich.table import Table

        now = self.clock()
        with self._lock:
            rows = []
            for address, r in sorted(self._running.items()):
                elapsed = r.elapsed + max(now - r.reported_at, 0.0)
                left = self._remaining(address, elapsed)
                rows.append(
                    (
                        address,
                        r.action,
                        r.status,
                        r.remote_id or "",
                        r.hint or "",
                        format_duration(elapsed),
                        f"~{format_duration(left)}" if left else "",
                    )
                )
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        # the progress column only when a provider reports something beyond its status (narrow terminals)
        shown = [i for i in range(7) if i != 4 or any(row[4] for row in rows)]
        names = ("resource", "phase", "status", "id", "progress", "elapsed", "left (est.)")
        for i in shown:
            # addresses and ids are what a person copies: never cut; the provider's note may wrap
            table.add_column(names[i], no_wrap=i in (0, 3, 5, 6), overflow="fold")
        for row in rows:
            table.add_row(*(row[i] for i in shown))
        return table

    def _ensure_live(self) -> bool:
        if not self.use_live:
            return False
        with self._live_guard:
            if self._closed:
                return False
            if self._live is None:
                from rich.live import Live

                self._live = Live(
                    get_renderable=self.render,
                    console=self.console,
                    transient=True,
                    refresh_per_second=self._refresh,
                    redirect_stdout=False,
                    redirect_stderr=False,
                )
                self._live.start()
        return True

    def _print(self, text: StyledLine | str) -> None:
        if self._plain and isinstance(text, str) and "\t" not in text:
            self.console.file.write(as_rich_plain(text) + "\n")  # what rich writes: its control codes dropped
            return
        print_lines(self.console, [StyledLine(text) if isinstance(text, str) else text])


def status_line(
    address: str, status: str, elapsed: float, hint: str | None, remote_id: str | None = None
) -> str:
    """`FineTune/x: RUNNING (2m10s) queued…`, or `FineTune/x: ft-1 RUNNING (2m10s)` with an id."""
    what = f"{remote_id} {status}" if remote_id else status
    return f"{address}: {what} ({format_duration(elapsed)})" + (f" {hint}" if hint else "")
