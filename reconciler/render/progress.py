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
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from reconciler.models.envelope import format_duration
from reconciler.render.apply_text import OutcomeLike, outcome_detail
from reconciler.render.terminal import print_lines

_OUTCOME_STYLES = {
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "yellow",
    "submitted": "cyan",
    "deferred": "cyan",
}


@dataclass
class _Running:
    action: str
    status: str = "starting"
    hint: str | None = None
    elapsed: float = 0.0  # as last reported by the engine
    reported_at: float = 0.0  # our clock when it was reported


class RichProgress:
    """Use as a context manager around apply (or call `close()`); starts lazily on the first event."""

    def __init__(
        self,
        console: Console,
        *,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_per_second: float = 4,
    ) -> None:
        self.console = console
        self.clock = clock
        self.use_live = console.is_terminal if live is None else live
        self._lock = threading.Lock()  # our data
        self._live_guard = threading.Lock()  # starting/stopping the Live display
        self._running: dict[str, _Running] = {}
        self._live: Live | None = None
        self._refresh = refresh_per_second
        self._closed = False

    # ------------------------------------------------------------------ ProgressSink
    # Lock discipline: `_lock` guards our data only and is never held while calling rich (rich's
    # Live refresh thread holds its own lock and then calls `render`, which takes ours).
    def started(self, address: str, action: str) -> None:
        with self._lock:
            self._running[address] = _Running(action=action, reported_at=self.clock())
        if not self._ensure_live():
            self._print(Text(f"{address}: {action} started"))

    def waiting(self, address: str, status: str, elapsed: float, hint: str | None) -> None:
        with self._lock:
            entry = self._running.setdefault(address, _Running(action=""))
            changed = status != entry.status
            entry.status, entry.hint, entry.elapsed, entry.reported_at = status, hint, elapsed, self.clock()
        if not self._ensure_live() and changed:
            self._print(Text(status_line(address, status, elapsed, hint)))

    def finished(self, outcome: OutcomeLike) -> None:
        with self._lock:
            self._running.pop(outcome.address, None)
        text = Text(f"{outcome.address}: ")
        text.append(str(outcome.outcome), style=_OUTCOME_STYLES.get(str(outcome.outcome), ""))
        text.append(outcome_detail(outcome))
        self._ensure_live()
        self._print(text)  # on a terminal, Live prints it above the table

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> RichProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._live_guard:
            self._closed = True
            live, self._live = self._live, None
        if live is not None:
            live.stop()

    # ------------------------------------------------------------------ rendering
    def render(self) -> RenderableType:
        """The live table: one row per resource in flight (also used by tests)."""
        with self._lock:
            rows = sorted(
                (a, r.action, r.status, r.elapsed + max(self.clock() - r.reported_at, 0.0), r.hint)
                for a, r in self._running.items()
            )
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for column in ("resource", "action", "status", "elapsed", ""):
            table.add_column(column)
        for address, action, status, elapsed, hint in rows:
            table.add_row(address, action, status, format_duration(elapsed), hint or "")
        return table

    def _ensure_live(self) -> bool:
        if not self.use_live:
            return False
        with self._live_guard:
            if self._closed:
                return False
            if self._live is None:
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

    def _print(self, text: Text) -> None:
        print_lines(self.console, [text])  # one write on a plain console: no rich pipeline per event


def status_line(address: str, status: str, elapsed: float, hint: str | None) -> str:
    """`FineTune/x: RUNNING (2m10s) queued…`"""
    return f"{address}: {status} ({format_duration(elapsed)})" + (f" {hint}" if hint else "")
