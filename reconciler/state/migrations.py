"""Versioned schema of the state database, and the code that brings a file up to date.

A migration is `(version, statements)`; they run in order, all pending ones inside one
`BEGIN IMMEDIATE` transaction, so two processes opening an old file at once cannot both migrate
it and a failed migration leaves the file as it was. The version lives in `meta.schema_version`.

Rules for adding a migration: append, never edit a released one; if it changes a table that
readers query (`SqliteStateStore` reads), raise `MIN_READABLE_VERSION` so that a read-only
open of an older file (which cannot migrate it) says "run a writing command first" instead of
failing on a missing column.

This module must not decide anything about records; it only shapes tables.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from reconciler.state.interface import StateError

if TYPE_CHECKING:
    from sqlite_utils import Database

Migration = tuple[int, tuple[str, ...]]

MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        (
            """CREATE TABLE meta (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                schema_version INTEGER NOT NULL,
                lineage TEXT NOT NULL,
                serial INTEGER NOT NULL,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE resources (
                address TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                provider TEXT NOT NULL,
                provider_type TEXT NOT NULL,
                remote_id TEXT,
                spec TEXT NOT NULL,              -- JSON
                spec_hash TEXT NOT NULL,
                content_digest TEXT,
                content_files TEXT NOT NULL,     -- JSON
                status TEXT,
                observed TEXT,                   -- JSON or NULL
                outputs TEXT NOT NULL,           -- JSON
                dependencies TEXT NOT NULL,      -- JSON
                labels TEXT NOT NULL,            -- JSON
                lifecycle TEXT NOT NULL,         -- JSON
                created_at TEXT,
                updated_at TEXT,
                observed_at TEXT
            )""",
            """CREATE TABLE events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                ts TEXT NOT NULL,
                address TEXT,
                event TEXT NOT NULL,
                detail TEXT NOT NULL             -- JSON
            )""",
            """CREATE TABLE journal (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                address TEXT NOT NULL,
                operation TEXT NOT NULL,
                provider TEXT NOT NULL,
                request TEXT NOT NULL,           -- JSON
                fingerprint TEXT NOT NULL,       -- JSON
                status TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                result TEXT,                     -- JSON or NULL
                error TEXT
            )""",
        ),
    ),
    (
        2,
        (
            # `state show ADDRESS` history and `open_journal()` at the start of every apply.
            "CREATE INDEX events_by_address ON events (address, id)",
            "CREATE INDEX journal_open_entries ON journal (id) WHERE status = 'open'",
            # The event log is append-only: enforced by the database, not by convention.
            """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
               BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
            """CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
               BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
        ),
    ),
    (
        3,
        (
            # Objects superseded by a create-before-destroy replace, not yet deleted (JSON list).
            "ALTER TABLE resources ADD COLUMN deposed TEXT NOT NULL DEFAULT '[]'",
        ),
    ),
    (
        4,
        (
            # Lineage: the upstream objects this one was built from (address -> remote id, JSON).
            "ALTER TABLE resources ADD COLUMN built_from TEXT NOT NULL DEFAULT '{}'",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]
MIN_READABLE_VERSION = 1  # the oldest schema SqliteStateStore's queries can read without migrating


def schema_version(db: Database | sqlite3.Connection) -> int:
    """0 for an empty database; StateError for a SQLite file that is not a reconciler state."""
    conn: sqlite3.Connection = db if isinstance(db, sqlite3.Connection) else db.conn
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        if tables:
            raise StateError(
                "this SQLite file is not a reconciler state (no 'meta' table; it has: "
                f"{', '.join(sorted(tables)[:5])}); point --state at a reconciler state file"
            )
        return 0
    row = conn.execute("SELECT schema_version FROM meta WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def newer_version_error(found: int, where: str) -> StateError:
    return StateError(
        f"{where} was written by a newer reconciler (state schema version {found}; this reconciler "
        f"understands up to {SCHEMA_VERSION}). Upgrade reconciler to use it."
    )


def migrate(
    db: Database | sqlite3.Connection, *, lineage: str, now: str, where: str, up_to: int | None = None
) -> int:
    """Apply pending migrations (up to `up_to`, for tests) in one transaction; returns the version reached.

    A fresh database also gets its meta row: `lineage` (generated once, by the caller) and serial 0.
    """
    up_to = SCHEMA_VERSION if up_to is None else up_to
    conn: sqlite3.Connection = db if isinstance(db, sqlite3.Connection) else db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(db)
        if current > SCHEMA_VERSION:
            raise newer_version_error(current, where)
        if current < up_to:
            for version, statements in MIGRATIONS:
                if current < version <= up_to:
                    for statement in statements:
                        conn.execute(statement)
            params: dict[str, Any] = {"version": up_to, "lineage": lineage, "now": now}
            if current == 0:
                conn.execute(
                    "INSERT INTO meta (id, schema_version, lineage, serial, created_at) "
                    "VALUES (1, :version, :lineage, 0, :now)",
                    params,
                )
            else:
                conn.execute("UPDATE meta SET schema_version = :version WHERE id = 1", params)
        conn.execute("COMMIT")
        return max(current, up_to)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
