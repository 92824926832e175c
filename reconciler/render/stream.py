"""The machine-readable stream of `plan --json` and `apply --json`: one JSON object per line.

Modelled on `terraform -json` (its "machine-readable UI"): every line has `@level` (info, warn,
error), `@message` (what the human view would say), `@module`, `@timestamp` (RFC 3339, UTC) and a
`type`; the first line is `version`, naming this format's version (`STREAM_VERSION`). The schema
is `schemas/output/stream.json`; README "Machine-readable output" documents each type. A reader ignores
types and fields it does not know (minor versions only add); a major version changes meanings.

Events arrive from worker threads: each line is written and flushed whole, under one lock.

Types: version, plan (the whole plan document, as `plan --out` saves it), diagnostic,
resource_start, progress, retry, finish, summary.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any, Protocol

from reconciler.models.envelope import format_duration
from reconciler.models.plans import Plan
from reconciler.render.describing import summary_line
from reconciler.render.json_format import plan_to_json
from reconciler.version import __version__

STREAM_VERSION = "1.0"

_LEVELS = {"error": "error", "warning": "warn"}


class _Event(Protocol):  # engine.events.* by shape (render and engine are sibling layers)
    pass


class JsonStream:
    def __init__(self, out: IO[str], *, clock: Any = None, hint: Callable[[str], str] = str) -> None:
        self.out = out
        self.hint = hint  # completes the commands a message suggests (the CLI gives them this run's -f)
        self._lock = threading.Lock()
        self._clock = clock  # () -> epoch seconds; tests inject one
        self.outcomes: dict[str, int] = {}

    # ------------------------------------------------------------------ lines
    def emit(self, type_: str, message: str, level: str = "info", **fields: Any) -> None:
        now = self._clock() if self._clock is not None else datetime.now(UTC).timestamp()
        line = {
            "@level": level,
            "@message": message,
            "@module": "reconciler",
            "@timestamp": datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds"),
            "type": type_,
            **fields,
        }
        text = json.dumps(line, ensure_ascii=False, sort_keys=False, default=str)
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def version(self) -> None:
        self.emit(
            "version", f"reconciler {__version__}", reconciler=__version__, stream_version=STREAM_VERSION
        )

    def plan(self, plan: Plan) -> None:
        document = json.loads(plan_to_json(plan))
        self.emit("plan", summary_line(plan), plan=document)
        for d in plan.errors:
            self.diagnostic(d)
        for d in plan.warnings:
            self.diagnostic(d)
        for a in plan.actions:
            for w in a.warnings:
                self.diagnostic({"severity": "warning", "address": a.address, "message": w})

    def plan_summary(self, plan: Plan) -> None:
        s = plan.summary()
        self.emit(
            "summary",
            summary_line(plan),
            operation="plan",
            changes=s.model_dump(),
            has_changes=plan.has_changes,
            errors=len(plan.errors),
        )

    def diagnostic(self, d: Mapping[str, Any]) -> None:
        severity = str(d.get("severity") or "error")
        where = ":".join(str(d[k]) for k in ("file", "line", "column") if d.get(k) is not None)
        parts = [p for p in (where, d.get("address"), d.get("field"), d.get("message")) if p]
        self.emit(
            "diagnostic",
            ": ".join(str(p) for p in parts),
            level=_LEVELS.get(severity, "info"),
            diagnostic={
                "severity": severity,
                "summary": str(d.get("message") or ""),
                "address": d.get("address"),
                "field": d.get("field"),
                "file": d.get("file"),
                "line": d.get("line"),
                "column": d.get("column"),
            },
        )

    def error(self, message: str) -> None:
        self.diagnostic({"severity": "error", "message": message})

    # ------------------------------------------------------------------ apply events (callback)
    def __call__(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "ResourceStarted":
            self.emit(
                "resource_start",
                f"{event.address}: {event.action} started",
                hook={"address": event.address, "phase": event.action},
            )
        elif kind == "ResourceProgress":
            what = f"{event.remote_id} {event.status}" if event.remote_id else event.status
            self.emit(
                "progress",
                f"{event.address}: {what} ({format_duration(event.elapsed)})"
                + (f" {event.hint}" if event.hint else ""),
                hook={
                    "address": event.address,
                    "status": event.status,
                    "changed": event.changed,
                    "remote_id": event.remote_id,
                    "elapsed_s": round(event.elapsed, 3),
                    "hint": event.hint,
                    "remaining_s": None if event.remaining is None else round(event.remaining, 1),
                },
            )
        elif kind == "ResourceRetried":
            after = f" (Retry-After {event.retry_after:g}s)" if event.retry_after is not None else ""
            self.emit(
                "retry",
                f"{event.provider} {event.operation}: {event.error}"
                + (f" (HTTP {event.status})" if event.status else "")
                + f"; retry {event.attempt}/{event.max_retries} in {event.wait:.2f}s{after}",
                level="warn",
                hook={
                    "provider": event.provider,
                    "operation": event.operation,
                    "error": event.error,
                    "status": event.status,
                    "attempt": event.attempt,
                    "max_retries": event.max_retries,
                    "wait_s": event.wait,
                    "retry_after_s": event.retry_after,
                },
            )
        elif kind == "ResourceFinished":
            self.outcomes[event.outcome] = self.outcomes.get(event.outcome, 0) + 1
            message = self.hint(event.message)
            detail = f": {message}" if message and event.outcome == "failed" else ""
            self.emit(
                "finish",
                f"{event.address}: {event.outcome} ({format_duration(event.elapsed)}){detail}",
                level="error" if event.outcome == "failed" else "info",
                hook={
                    "address": event.address,
                    "phase": event.action,
                    "outcome": event.outcome,
                    "message": message,
                    "remote_id": event.remote_id,
                    "elapsed_s": round(event.elapsed, 3),
                },
            )

    def apply_summary(self, result: Any, operation: str = "apply") -> None:
        counts = {k: 0 for k in ("succeeded", "failed", "skipped", "submitted", "deferred")}
        for o in result.outcomes.values():
            counts[str(o.outcome)] = counts.get(str(o.outcome), 0) + 1
        word = "Destroy" if operation == "destroy" else "Apply"
        state = "interrupted" if result.interrupted else ("complete" if result.ok else "failed")
        self.emit(
            "summary",
            f"{word} {state}: {counts['succeeded']} succeeded, {counts['failed']} failed, "
            f"{counts['skipped']} skipped",
            level="info" if result.ok else "error",
            operation=operation,
            outcomes=counts,
            interrupted=bool(result.interrupted),
            ok=bool(result.ok),
        )


__all__ = ["STREAM_VERSION", "JsonStream"]
