"""SQLite persistence for the sandbox: one database per sandbox, shared by every emulator in it.

Why: the emulator must survive between CLI invocations (`reconciler apply` twice, or `sandbox
serve` restarted) and several processes may open the same file, so every handler runs inside
`BEGIN IMMEDIATE` (serialising writers across processes) under one in-process lock (across
threads). Uploaded file bodies live as blobs in a directory beside the database, never in memory.
This module stores rows and counters; it knows nothing about any provider's semantics.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler import forked

_CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_request_counts (route TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""

_NEXT_COUNTER = (
    "INSERT INTO sandbox_counters(name, value) VALUES (?, 1) "
    "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value"
)
_COUNT_REQUEST = (
    "INSERT INTO sandbox_request_counts(route, count) VALUES (?, 1) "
    "ON CONFLICT(route) DO UPDATE SET count = count + 1 RETURNING count"
)


class Store:
    def __init__(self, db_path: str | Path | None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        forked.note_database_opened()  # no fork of a child that opens a database from here on
        if db_path is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self._tmp = tempfile.TemporaryDirectory(prefix="reconciler-sandbox-")
            self.blob_dir = Path(self._tmp.name)
            self.path: Path | None = None
        else:
            self.path = Path(db_path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
            self.blob_dir = self.path.with_name(self.path.name + ".blobs")
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        if self.path is not None:
            # straight on the connection (autocommit, no transaction open yet): sqlite-utils,
            # which this used to go through, cost a third of a refresh's start-up to import
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a commit survives the process being killed (the kill -9 tests), only
            # not a power cut; an emulator needs no more, and it saves an fsync per commit (three
            # per request).
            conn.execute("PRAGMA synchronous = NORMAL")
            # a checkpoint (the WAL copied back, two fsyncs) every 10,000 pages, not SQLite's 1,000:
            # at about three pages a request the default ran one every ~300 requests, under the
            # lock every request waits for
            conn.execute("PRAGMA wal_autocheckpoint = 10000")
        self.conn = conn
        self.lock = threading.RLock()
        self._depth = 0
        # `PRAGMA data_version` as read in the open write transaction (None: not read yet). While
        # this connection holds the write lock no other can commit, so it cannot change: the
        # caches that ask for it (late commits, the jobs) share one statement per request.
        self._version: int | None = None
        self.rollbacks = 0  # how many times a transaction or savepoint of this store was undone
        self.executescript(_CORE_SCHEMA)

    # --- transactions -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Serialise against other threads (lock) and other processes (BEGIN IMMEDIATE)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._version = None
            try:
                yield
            except BaseException:
                self._depth = 0
                self._version = None
                self.rollbacks += 1
                self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self._version = None
            self.conn.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: undo what the block wrote if it raises, keep the rest."""
        with self.lock:
            if not self._depth:
                raise RuntimeError("Store.savepoint() needs an open transaction")
            self.conn.execute("SAVEPOINT handler")
            try:
                yield
            except BaseException:
                self.rollbacks += 1
                self.conn.execute("ROLLBACK TO handler")
                self.conn.execute("RELEASE handler")
                raise
            self.conn.execute("RELEASE handler")

    def executescript(self, sql: str) -> None:
        """Each statement of `sql` in turn (not `sqlite3.executescript`, which commits first). A
        piece that does not end a statement (a trigger's body holds semicolons) takes the next."""
        with self.lock:
            pending = ""
            for piece in sql.split(";"):
                pending += piece + ";"
                if sqlite3.complete_statement(pending):
                    if pending.strip(" \t\n;"):
                        self.conn.execute(pending)
                    pending = ""
            if pending.strip(" \t\n;"):
                self.conn.execute(pending)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts. Straight on the connection: sqlite-utils' query() wraps every read in a
        SAVEPOINT and a RELEASE (three statements instead of one, on every request)."""
        with self.lock:
            cursor = self.conn.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def data_version(self) -> int:
        """Changes whenever another connection (another process, another Sandbox on this file)
        commits; this connection's own writes leave it as it is (SQLite's `PRAGMA data_version`)."""
        with self.lock:
            if self._depth and self._version is not None:
                return self._version
            version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
            if self._depth:
                self._version = version
            return version

    # --- counters and ids ---------------------------------------------------------------
    def next_counter(self, name: str) -> int:
        with self.lock:
            if self._depth:  # inside a transaction already (every request's): no nested one to open
                return self._bump(_NEXT_COUNTER, name)
            with self.transaction():
                return self._bump(_NEXT_COUNTER, name)

    def _bump(self, sql: str, name: str) -> int:
        return int(self.conn.execute(sql, (name,)).fetchone()[0])

    def token(self, seed: int, name: str, length: int) -> str:
        """A fresh deterministic hex token: same seed and history give the same sequence."""
        n = self.next_counter(name)
        digest = hashlib.sha256(f"{seed}:{name}:{n}".encode()).hexdigest()
        while len(digest) < length:
            digest += hashlib.sha256(digest.encode()).hexdigest()
        return digest[:length]

    # --- request counts -----------------------------------------------------------------
    def count_request(self, route: str) -> int:
        with self.lock:
            if self._depth:
                return self._bump(_COUNT_REQUEST, route)
            with self.transaction():
                return self._bump(_COUNT_REQUEST, route)

    def request_counts(self) -> dict[str, int]:
        rows = self.query("SELECT route, count FROM sandbox_request_counts ORDER BY route")
        return {r["route"]: int(r["count"]) for r in rows}

    def reset_counts(self) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM sandbox_request_counts")

    # --- blobs --------------------------------------------------------------------------
    def blob_path(self, name: str) -> Path:
        return self.blob_dir / name

    def close(self) -> None:
        with self.lock:
            self.conn.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
