"""The two state stores behind one test-facing shape, so one conformance suite runs against both.

A backend names one state (a SQLite file; a PostgreSQL database and workspace) and knows how to
open it, how to name another state in the same place, how to look at everything it persisted
(for "read-only changes nothing" and "no secret reaches the disk"), and how to run raw SQL
against it (for "the events are append-only, enforced by the database").
"""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.state import LockInfo
from reconciler.state.interface import StateStore
from reconciler.state.sqlite import SqliteStateStore


@dataclass
class SqliteBackend:
    path: Path
    name = "sqlite"

    def open(self, *, readonly: bool = False, clock: Clock = SYSTEM_CLOCK, create: bool = True) -> StateStore:
        return SqliteStateStore.open(self.path, readonly=readonly, clock=clock, create=create)

    def other(self) -> SqliteBackend:
        return SqliteBackend(self.path.with_name(f"other-{uuid.uuid4().hex[:6]}.db"))

    @property
    def args(self) -> list[str]:
        """How a subprocess names this state (hold_lock.py, the CLI's --state)."""
        return [str(self.path)]

    def persisted(self) -> dict[str, str]:
        """Every file in the state's directory (name -> sha256)."""
        if not self.path.parent.exists():
            return {}
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.path.parent.iterdir())
        }

    def persisted_text(self) -> bytes:
        return b"".join(p.read_bytes() for p in sorted(self.path.parent.iterdir()) if p.is_file())

    def table(self, name: str) -> str:
        """A table of this state, for raw SQL (`SELECT … FROM {table}` sees only this state's rows)."""
        return name

    def raw(self, sql: str) -> Any:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


@dataclass
class PostgresBackend:
    url: str
    workspace: str
    name = "postgresql"

    def open(self, *, readonly: bool = False, clock: Clock = SYSTEM_CLOCK, create: bool = True) -> StateStore:
        from reconciler.state.postgres import PostgresStateStore

        return PostgresStateStore.open(
            self.url, workspace=self.workspace, readonly=readonly, clock=clock, create=create
        )

    def other(self) -> PostgresBackend:
        return PostgresBackend(self.url, f"{self.workspace}-other-{uuid.uuid4().hex[:6]}")

    @property
    def args(self) -> list[str]:
        return [self.url, self.workspace]

    def persisted(self) -> dict[str, str]:
        """Every row of every table in the database's `reconciler` schema, all workspaces (table -> sha256),
        and the list of tables (so a created schema shows)."""
        import psycopg

        out: dict[str, str] = {}
        with psycopg.connect(self.url, autocommit=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'reconciler' "
                    "ORDER BY table_name"
                ).fetchall()
            ]
            out["(tables)"] = ",".join(tables)
            for table in tables:
                rows = conn.execute(f"SELECT * FROM reconciler.{table}").fetchall()
                out[table] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
        return out

    def persisted_text(self) -> bytes:
        import psycopg

        chunks: list[str] = []
        with psycopg.connect(self.url, autocommit=True) as conn:
            for (table,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'reconciler'"
            ).fetchall():
                chunks += [repr(r) for r in conn.execute(f"SELECT * FROM reconciler.{table}").fetchall()]
        return "\n".join(chunks).encode()

    def table(self, name: str) -> str:
        workspace = self.workspace.replace("'", "''")
        return f"(SELECT * FROM reconciler.{name} WHERE workspace = '{workspace}') AS {name}"

    def raw(self, sql: str) -> Any:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else None


Backend = SqliteBackend | PostgresBackend


HOLDER = Path(__file__).with_name("hold_lock.py")


class Holder:
    """Another process holding the apply lock until told to stop (or killed)."""

    def __init__(self, backend: Backend, operation: str) -> None:
        state, *workspace = backend.args
        self.process = subprocess.Popen(
            [sys.executable, str(HOLDER), state, operation, *workspace],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the holder process failed to take the lock"
        self.info = LockInfo.from_dict(json.loads(line))

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=10) == 0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()
