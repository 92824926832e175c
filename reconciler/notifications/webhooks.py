"""A webhook told when a long job finishes or fails, and when an apply ends.

Training takes hours; nobody watches the terminal. The project file names a webhook URL (or the
variable that holds it: it usually carries a token), and this listener POSTs one JSON object per
event (format below, README "Notifications"). It listens to the executor's existing progress
hooks (`engine/progress.py`) by wrapping whatever sink the caller gave, so the engine knows
nothing of it.

Delivery never slows or fails an apply: events go to one background thread; each POST has a
timeout and one retry on a connection error or a 5xx; a failure becomes a warning (through `warn`)
and the apply carries on. The URL is never printed: messages name where it came from
(`$RECONCILER_WEBHOOK_URL`) and the HTTP status, and anything the HTTP library says is scrubbed of it.

Body (`schema: reconciler.notification/1`):
    {"schema", "event": job_finished | job_failed | apply_finished | apply_failed, "text",
     "project", "environment", "timestamp", "resource": {...} (job events), "summary": {...} (apply)}
`text` is a one-line summary, so Slack and Mattermost incoming webhooks show it as it is.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from reconciler.engine.outcomes import ApplyResult, Outcome, ResourceOutcome
from reconciler.engine.progress import ProgressSink
from reconciler.models.plans import Plan

SCHEMA = "reconciler.notification/1"
LONG_KINDS = frozenset({"FineTune", "CheckpointExport", "Deployment"})
LONG_ACTIONS = frozenset({"create", "replace", "update", "wait"})
FLUSH_LIMIT_S = 30.0  # the most an apply waits at its end for deliveries still in flight
RETRY_PAUSE_S = 0.5


class WebhookNotifier:
    """An apply listener (see `Workspace(listeners=...)`): `progress(sink)` and `apply_finished`."""

    def __init__(
        self,
        url: str,
        *,
        source: str,
        project: str | None = None,
        environment: str | None = None,
        timeout: float = 5.0,
        warn: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self.source = source  # where the URL came from, safe to print ("$VAR" or "reconciler.yaml")
        self.project = project
        self.environment = environment
        self._timeout = timeout
        self._warn = warn or (lambda message: None)
        self._transport = transport
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._told: set[str] = set()
        self.delivered = 0
        self.failed = 0

    # ------------------------------------------------------------------ listener
    def progress(self, inner: ProgressSink) -> ProgressSink:
        return _NotifyingProgress(inner, self)

    def resource_finished(self, outcome: ResourceOutcome) -> None:
        kind = outcome.address.split("/", 1)[0]
        with self._lock:
            long_job = kind in LONG_KINDS and outcome.action in LONG_ACTIONS  # training, export, deployment
            if not long_job or outcome.address in self._told or outcome.outcome is Outcome.SKIPPED:
                return
            self._told.add(outcome.address)  # a replace finishes twice (new object, then old deleted)
        failed = outcome.outcome is Outcome.FAILED
        verb = {Outcome.FAILED: "failed", Outcome.SUBMITTED: "submitted", Outcome.DEFERRED: "deferred"}.get(
            outcome.outcome, "finished"
        )
        text = f"{self._where()}{outcome.address} {outcome.action} {verb}" + (
            f": {outcome.message}" if outcome.message else ""
        )
        self._send(
            "job_failed" if failed else "job_finished",
            text,
            resource={
                "address": outcome.address,
                "kind": kind,
                "name": outcome.address.split("/", 1)[-1],
                "action": outcome.action,
                "outcome": outcome.outcome.value,
                "message": outcome.message,
                "remote_id": outcome.remote_id,
                "elapsed_s": round(outcome.elapsed, 3),
            },
        )

    def apply_finished(self, plan: Plan, result: ApplyResult | None, error: BaseException | None) -> None:
        """The last event of an apply; then waits (bounded) for every delivery to finish."""
        counts = {o.value: 0 for o in Outcome}
        for o in result.outcomes.values() if result else []:
            counts[o.outcome.value] += 1
        ok = error is None and result is not None and result.ok
        summary: dict[str, Any] = {
            "operation": plan.operation,
            "ok": ok,
            "interrupted": bool(result and result.interrupted),
            **counts,
            "failed_resources": sorted(o.address for o in (result.by(Outcome.FAILED) if result else [])),
        }
        if error is not None:
            summary["error"] = str(error)
        parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        text = f"{self._where()}{plan.operation} {'finished' if ok else 'failed'}" + (
            f": {parts}" if parts else ""
        )
        if error is not None:
            text += f" ({error})"
        self._send("apply_finished" if ok else "apply_failed", text, summary=summary)
        self.flush()

    # ------------------------------------------------------------------ delivery
    def _where(self) -> str:
        return f"[{self.environment}] " if self.environment else ""

    def _send(self, event: str, text: str, **extra: Any) -> None:
        body = {
            "schema": SCHEMA,
            "event": event,
            "text": text,
            "project": self.project,
            "environment": self.environment,
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            **extra,
        }
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._deliver_all, name="reconciler-webhook", daemon=True
                )
                self._thread.start()
        self._queue.put(body)

    def flush(self, limit: float = FLUSH_LIMIT_S) -> None:
        """Wait until queued events are delivered (or failed), at most `limit` seconds; stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(limit)
        if thread.is_alive():
            self._warn(f"notification webhook ({self.source}) is still not answering; gave up waiting for it")

    def _deliver_all(self) -> None:
        with httpx.Client(timeout=self._timeout, transport=self._transport, follow_redirects=False) as client:
            while True:
                body = self._queue.get()
                if body is None:
                    return
                self._deliver(client, body)

    def _deliver(self, client: httpx.Client, body: dict[str, Any]) -> None:
        problem = ""
        for attempt in range(2):
            try:
                response = client.post(
                    self._url,
                    content=json.dumps(body, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json", "User-Agent": "reconciler"},
                )
            except httpx.HTTPError as e:
                problem = self._scrub(f"{type(e).__name__}: {e}")
            else:
                if response.status_code < 300:
                    self.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
                if response.status_code < 500:
                    break  # the receiver refused it: sending it again changes nothing
            if attempt == 0:
                time.sleep(RETRY_PAUSE_S)
        self.failed += 1
        self._warn(
            f"notification webhook ({self.source}) failed for the {body['event']} event: {problem}; "
            "the apply is not affected"
        )

    def _scrub(self, text: str) -> str:
        """Whatever an HTTP error says, without the URL, its path or its query (either may be the token)."""
        url = self._url
        parts: list[str] = [url, url.rstrip("/")]
        try:
            parsed = httpx.URL(url)
            parts += [parsed.path, parsed.query.decode(errors="replace")]
        except (httpx.InvalidURL, ValueError):
            pass
        for secret in sorted(filter(lambda p: len(p) > 1, parts), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


class UnsetWebhook:
    """The project names a webhook variable that is not set: an apply says so once, and runs."""

    def __init__(self, source: str, warn: Callable[[str], None]) -> None:
        self.source = source
        self._warn = warn

    def progress(self, inner: ProgressSink) -> ProgressSink:
        self._warn(f"notifications: {self.source} is not set; no webhook will be called")
        return inner

    def apply_finished(self, plan: Plan, result: ApplyResult | None, error: BaseException | None) -> None:
        pass


class _NotifyingProgress:
    """Passes every hook on to the caller's sink, and tells the notifier what finished."""

    wants_ids = True  # the finished job's id goes into the notification (one state read per step)

    def __init__(self, inner: ProgressSink, notifier: WebhookNotifier) -> None:
        self._inner = inner
        self._notifier = notifier

    def started(self, address: str, action: str) -> None:
        self._inner.started(address, action)

    def waiting(
        self, address: str, status: str, elapsed: float, hint: str | None, remote_id: str | None = None
    ) -> None:
        self._inner.waiting(address, status, elapsed, hint, remote_id)

    def finished(self, outcome: ResourceOutcome) -> None:
        self._inner.finished(outcome)
        self._notifier.resource_finished(outcome)

    def __getattr__(self, name: str) -> Any:  # hooks added to ProgressSink later pass straight through
        return getattr(self._inner, name)


__all__ = ["SCHEMA", "UnsetWebhook", "WebhookNotifier"]
