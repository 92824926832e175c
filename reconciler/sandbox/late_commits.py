"""Requests the emulated provider commits *after* the client gave up on them (`late_commit` faults).

Why: none of the three APIs has an idempotency key, so a create whose client timed out may still
land on the provider seconds later ([inf], providers.md §4b). A reconciler that looks once, finds
nothing and re-sends makes a twin. To reproduce that, the app parks such a request here (method,
path, query, headers, body) with the time it is due, answers the client with a timeout, and runs
it at its due time — before it serves the first request that arrives after that moment, so every
later observation sees it. Parked requests live in the sandbox database, so they survive a
restarted `sandbox serve` or a killed CLI, as the provider's own queue would.

This module only stores and hands back parked requests; `SandboxApp` runs them.
"""

from __future__ import annotations

import io
import json
import weakref
from dataclasses import dataclass
from urllib.parse import urlencode

from reconciler.sandbox.routing import Request
from reconciler.sandbox.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_late_commits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    due REAL NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    fidelity TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sandbox_late_commits_due ON sandbox_late_commits(due)
"""


@dataclass(frozen=True)
class Parked:
    id: int
    due: float
    request: Request
    fidelity: str
    request_id: str


# Parks and takes through each store's connection, which its own `data_version` does not count.
_writes: weakref.WeakKeyDictionary[Store, int] = weakref.WeakKeyDictionary()


def _wrote(store: Store) -> None:
    _writes[store] = _writes.get(store, 0) + 1


class LateCommits:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.executescript(SCHEMA)
        # The earliest due time parked (None: none), as of `_seen` (data_version, own writes,
        # rollbacks): every request asks whether one is due, and the table changes only on a
        # rare fault.
        self._first_due: float | None = None
        self._seen: tuple[int, int, int] | None = None

    def park(self, request: Request, *, due: float, fidelity: str, request_id: str) -> None:
        body = request.body.read()  # the sandbox's test bodies are small; a real provider buffers too
        query = urlencode([(k, v) for k, values in request.query.items() for v in values])
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO sandbox_late_commits(due, method, path, query, headers, body, fidelity, request_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    due,
                    request.method,
                    request.path,
                    query,
                    json.dumps(request.headers),
                    body,
                    fidelity,
                    request_id,
                ),
            )
            _wrote(self.store)

    def any_due(self, now: float) -> bool:
        # `seen` is read before the table: a commit in between (outside a transaction) only makes
        # what is cached look older than it is, and the next call reads the table again.
        # A rollback may undo a park or a take this cache already saw.
        seen = (self.store.data_version(), _writes.get(self.store, 0), self.store.rollbacks)
        if seen != self._seen:
            row = self.store.one("SELECT min(due) AS due FROM sandbox_late_commits")
            self._first_due = None if row is None or row["due"] is None else float(row["due"])
            self._seen = seen
        return self._first_due is not None and self._first_due <= now

    def take_due(self, now: float) -> Parked | None:
        """Remove and return the oldest request due by `now` (call inside a store transaction)."""
        row = self.store.one(
            "SELECT * FROM sandbox_late_commits WHERE due <= ? ORDER BY due, id LIMIT 1", (now,)
        )
        if row is None:
            return None
        self.store.execute("DELETE FROM sandbox_late_commits WHERE id = ?", (row["id"],))
        _wrote(self.store)
        body = bytes(row["body"])
        request = Request.build(
            row["method"], row["path"], row["query"], json.loads(row["headers"]), io.BytesIO(body), len(body)
        )
        return Parked(row["id"], float(row["due"]), request, row["fidelity"], row["request_id"])

    def pending(self) -> int:
        row = self.store.one("SELECT COUNT(*) AS n FROM sandbox_late_commits")
        return int(row["n"]) if row else 0
