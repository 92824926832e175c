"""`PostgresStateStore`: one workspace's state in a PostgreSQL database a team shares (DESIGN.md §7).

Same semantics as `SqliteStateStore` (interface.py): lineage and serial, the journal, the
append-only events, deposed objects, versioned migrations (`pg_schema.py`), redaction. Tables and
their layout are described in `pg_schema.py`; every row belongs to one workspace, and nothing here
reads or writes another workspace's rows.

Connections: one per store, autocommit, guarded by a mutex, so the engine's worker threads may
call any method. Every write is one short transaction and nothing else runs inside it: never a
provider call, never a wait. A write that is one statement (a journal row, an event) is its own
autocommitted transaction; a put (record + serial + event, maybe closing a journal row) is a
`BEGIN` … `COMMIT` sent in pipeline mode. Reads are single statements. The session sets `lock_timeout` and `idle_in_transaction_session_timeout`, so a
stuck peer cannot hang us and we cannot hang it, and server-side TCP keepalives, so a holder
whose machine vanished loses its session (and the lock) within about half a minute.

The apply lock is a session-level advisory lock on the same connection
(`pg_try_advisory_lock(key of the workspace)`). It dies with the session: a `kill -9` of the
holder, a crash or a dropped connection frees it at once, with no cleanup, so `force-unlock` is
never needed for a dead holder. Because the lock and the writes share the session, a write that
succeeds proves the lock is still held; once the connection is lost while holding it, the store
refuses everything (the lock is gone, another runner may have it) and the command stops with a
message to run it again. The holder also writes who it is into `lock_holders`; a refused
process reads that row, and believes it only while `pg_locks` shows the same backend holding the
lock, so a row left by a dead holder is ignored.

Credentials: the URL's own password, `?password_env=VAR`, then libpq's `PGPASSWORD` and
`~/.pgpass`. The password never appears in `path`, a message or the state: every error text
is scrubbed (`locations.scrub_url`), and libpq's own messages never contain it.

Read-only opens (`plan`) run every statement in read-only transactions (server-enforced), create
nothing (not the schema, not the workspace), and read a missing workspace as an empty state.

psycopg is imported here and nowhere else; `wiring.open_store` imports this module only when a
state URL is used (so a SQLite user never pays for it), and turns a missing driver into
"install reconciler[postgres]".
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from reconciler import forked
from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.state import (
    Event,
    JournalEntry,
    JournalStatus,
    LockInfo,
    ResourceRecord,
    StateMeta,
    StateSnapshot,
    iso_utc,
)
from reconciler.state import pg_schema
from reconciler.state.interface import LockedError, StateError
from reconciler.state.locations import check_workspace_name, scrub_url, url_password
from reconciler.state.locking import POLL_INTERVAL, UNKNOWN_HOLDER, current_user
from reconciler.state.redaction import decode, encode, redact_text
from reconciler.state.renaming import check_move, moved_records

S = pg_schema.SCHEMA
CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT = "30s"  # a peer's write transaction is milliseconds; this is generous
SESSION_OPTIONS = (
    f"-c lock_timeout={LOCK_TIMEOUT} -c idle_in_transaction_session_timeout=60s -c statement_timeout=300s "
    "-c tcp_keepalives_idle=15 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
)
CLIENT_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 15, "keepalives_interval": 5, "keepalives_count": 3}
PASSWORD_ENV_PARAM = "password_env"
_INFO_READ_ATTEMPTS = 20  # a holder writes its row right after locking: wait this many times…
_INFO_READ_PAUSE = 0.005  # …this long (real time: it is another process) for it to appear

COLUMNS = (
    "address",
    "kind",
    "name",
    "provider",
    "provider_type",
    "remote_id",
    "spec",
    "spec_hash",
    "content_digest",
    "content_files",
    "status",
    "observed",
    "outputs",
    "dependencies",
    "labels",
    "lifecycle",
    "created_at",
    "updated_at",
    "observed_at",
    "deposed",
    "built_from",
)
JSON_COLUMNS = frozenset(
    {
        "spec",
        "content_files",
        "observed",
        "outputs",
        "dependencies",
        "labels",
        "lifecycle",
        "deposed",
        "built_from",
    }
)
_COMPARED = tuple(c for c in COLUMNS if c not in ("address", "created_at", "updated_at", "observed_at"))
_SELECT = ", ".join(COLUMNS)
_UPSERT = (
    f"INSERT INTO {S}.resources AS r (workspace, {_SELECT}) VALUES (%(workspace)s, "
    + ", ".join(
        "COALESCE(%(created_at)s::text, %(now)s)"
        if c == "created_at"
        else "%(now)s"
        if c == "updated_at"
        else f"%({c})s"
        for c in COLUMNS
    )
    + ") ON CONFLICT (workspace, address) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COMPARED)
    + ", created_at = COALESCE(%(created_at)s::text, r.created_at), updated_at = %(now)s, "
    "observed_at = EXCLUDED.observed_at WHERE "
    + " OR ".join(f"r.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _COMPARED)
    + " OR (%(created_at)s::text IS NOT NULL AND %(created_at)s::text IS DISTINCT FROM r.created_at)"
    " RETURNING r.address"
)
# A refresh that only re-observed an unchanged object: keep observed_at, move nothing else.
_TOUCH = (
    f"UPDATE {S}.resources SET observed_at = %(observed_at)s WHERE workspace = %(workspace)s "
    "AND address = %(address)s AND observed_at IS DISTINCT FROM %(observed_at)s::text"
)
_BUMP = f"UPDATE {S}.workspaces SET serial = serial + 1 WHERE workspace = %s RETURNING serial"
_SERIAL = f"SELECT serial FROM {S}.workspaces WHERE workspace = %s"
_EVENT = f"INSERT INTO {S}.events (workspace, ts, address, event, detail) VALUES (%s, %s, %s, %s, %s)"
_CLOSE = (
    f"UPDATE {S}.journal SET status = %s, finished_at = %s, result = %s, error = %s "
    "WHERE workspace = %s AND id = %s AND status = 'open' RETURNING id"
)
_JOURNAL_COLUMNS = (
    "id, address, operation, provider, request, fingerprint, status, started_at, finished_at, result, error"
)
_JOURNAL_JSON = frozenset({"request", "fingerprint", "result"})
_CLOSED_STATUSES = frozenset({JournalStatus.DONE, JournalStatus.FAILED, JournalStatus.RESOLVED})
_HOLDER = (
    f"SELECT l.pid, h.owner, h.pid, h.host, h.operation, h.started_at, h.lock_id FROM pg_locks l "
    f"LEFT JOIN {S}.lock_holders h ON h.workspace = %(workspace)s AND h.backend_pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid::bigint = %(hi)s AND l.objid::bigint = %(lo)s"
)
LOCK_REMEDY = (
    "Wait, or retry with --lock-timeout SECONDS: the lock is released the moment that process "
    "exits or its database connection drops (force-unlock is never needed for a dead holder)."
)


def advisory_key(workspace: str) -> int:
    """The workspace's 64-bit advisory lock key (a hash: workspaces never share a lock)."""
    digest = hashlib.sha256(b"reconciler-workspace\0" + workspace.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _split_url(url: str) -> tuple[str, str | None]:
    """The URL libpq sees (without our own `password_env` parameter), and that parameter."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    env = next((v for k, v in pairs if k == PASSWORD_ENV_PARAM), None)
    kept = urlencode([(k, v) for k, v in pairs if k != PASSWORD_ENV_PARAM])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, kept, parts.fragment)), env


def _encode(value: Any, what: str) -> str:
    try:
        return encode(value)
    except (TypeError, ValueError) as error:
        raise StateError(f"{what} is not JSON data and cannot be stored: {error}") from error


def _params(workspace: str, record: ResourceRecord, now: str) -> dict[str, Any]:
    if record.address != f"{record.kind}/{record.name}":
        raise StateError(
            f"record address {record.address!r} does not match its kind and name ({record.kind}/{record.name})"
        )
    out: dict[str, Any] = {"workspace": workspace, "now": now}
    for column in COLUMNS:
        value = getattr(record, column)
        if column in JSON_COLUMNS and not (column == "observed" and value is None):
            value = _encode(value, f"{record.address}: {column}")
        out[column] = value
    return out


def _record(row: tuple[Any, ...]) -> ResourceRecord:
    return ResourceRecord(
        **{c: decode(v) if c in JSON_COLUMNS else v for c, v in zip(COLUMNS, row, strict=True)}
    )


def _journal(row: tuple[Any, ...]) -> JournalEntry:
    names = _JOURNAL_COLUMNS.split(", ")
    return JournalEntry(
        **{c: decode(v) if c in _JOURNAL_JSON else v for c, v in zip(names, row, strict=True)}
    )


class PostgresStateStore:
    """A `StateStore` for one workspace of a PostgreSQL database. Open it with `open()`."""

    def __init__(self, url: str, workspace: str, *, readonly: bool, clock: Clock) -> None:
        self.url_display = scrub_url(url)
        self.workspace = check_workspace_name(workspace)
        self.path = f"{self.url_display} (workspace {workspace})"
        self.readonly = readonly
        self._conninfo, password_env = _split_url(url)
        self._secrets = [s for s in (url_password(url),) if s]
        self._password: str | None = None
        if password_env:
            value = os.environ.get(password_env)
            if not value:
                raise StateError(
                    f"--state {self.url_display}: {PASSWORD_ENV_PARAM}={password_env} names an "
                    f"environment variable that is not set; export {password_env} with the password"
                )
            self._password = value
            self._secrets.append(value)
        self._clock = clock
        self._mutex = threading.RLock()
        self._conn: Any = None
        self._closed = False
        self._empty = False  # read-only open of a database with no reconciler schema yet
        self._held: LockInfo | None = None
        self._lost_lock = False
        self._key = advisory_key(workspace)
        self._where = f"state {self.path}"

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        *,
        workspace: str,
        readonly: bool = False,
        create: bool = True,
        clock: Clock = SYSTEM_CLOCK,
    ) -> PostgresStateStore:
        store = cls(url, workspace, readonly=readonly, clock=clock)
        try:
            store._open(create)
        except BaseException:
            store.close()
            raise
        return store

    def _open(self, create: bool) -> None:
        with self._session("open the state") as conn:
            version = pg_schema.schema_version(conn)
            if self.readonly:
                if version == 0:
                    self._empty = True
                    return
                if version > pg_schema.SCHEMA_VERSION:
                    raise pg_schema.newer_version_error(version, self._where)
                if version < pg_schema.MIN_READABLE_VERSION:
                    raise StateError(
                        f"{self._where} has an old schema (version {version}) that a read-only "
                        "command cannot read; run a command that writes the state (e.g. "
                        "'reconciler refresh') to upgrade it"
                    )
                return
            if not create and (version == 0 or conn.execute(_SERIAL, (self.workspace,)).fetchone() is None):
                raise StateError(
                    f"no state in workspace {self.workspace} at {self.url_display}; run "
                    "'reconciler apply' first, or check --state and --workspace"
                )
            pg_schema.migrate(conn, now=self._now(), where=self._where)
            conn.execute(
                f"INSERT INTO {S}.workspaces (workspace, lineage, serial, created_at) VALUES (%s, %s, 0, %s) "
                "ON CONFLICT (workspace) DO NOTHING",
                (self.workspace, str(uuid.uuid4()), self._now()),
            )

    def _connect(self) -> Any:
        options = SESSION_OPTIONS + (" -c default_transaction_read_only=on" if self.readonly else "")
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "reconciler",
            "options": options,
            **CLIENT_KEEPALIVES,
        }
        if self._password is not None:
            kwargs["password"] = self._password
        forked.note_database_opened()  # no fork of a child that opens a database from here on
        try:
            return psycopg.connect(self._conninfo, **kwargs)
        except psycopg.Error as error:
            raise self._error(error, "connect") from error

    def close(self) -> None:
        with self._mutex:
            if self._held is not None:
                self._release()
            conn, self._conn, self._closed = self._conn, None, True
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def __enter__(self) -> PostgresStateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStateStore({self.path!r}, {'readonly' if self.readonly else 'writable'})"

    # -- plumbing ------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _error(self, error: BaseException, doing: str) -> StateError:
        """One line saying what failed and what to do; never the password, never a traceback."""
        raw = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        text = self._scrub(raw.removeprefix("connection failed: "))
        low = text.lower()
        sqlstate = getattr(error, "sqlstate", None) or ""
        db = self.url_display
        if self._conn is None or doing == "connect":
            if (
                "password authentication failed" in low
                or "no password supplied" in low
                or sqlstate == "28P01"
            ):
                return StateError(
                    f"cannot log in to the state database {db}: {text}. Give the password in "
                    "PGPASSWORD, a ~/.pgpass entry, or a variable named with ?password_env=VAR"
                )
            if "does not exist" in low and "database" in low:
                return StateError(
                    f"the state database {db} does not exist ({text}); create it (createdb) or fix --state"
                )
            if "refused" in low or "timeout" in low or "could not translate" in low or "no route" in low:
                return StateError(
                    f"cannot connect to the state database {db}: {text}. Is the server running "
                    "and reachable? Check --state / RECONCILER_STATE"
                )
            return StateError(f"cannot connect to the state database {db}: {text}")
        if isinstance(error, psycopg.OperationalError) and (
            self._conn is None or self._conn.broken or sqlstate.startswith(("08", "57P"))
        ):
            lost = f"lost the connection to the state database {db} while trying to {doing} ({text})"
            if self._held is not None or self._lost_lock:
                return StateError(
                    f"{lost}; the apply lock went with it, so this run stopped. Nothing is "
                    "half-written (each change is one transaction) and every provider call made "
                    "is in the journal: run the command again once the database is back"
                )
            return StateError(
                f"{lost}. Nothing is half-written (each change is one transaction); run the "
                "command again once the database is back"
            )
        if sqlstate == "55P03":
            return StateError(
                f"{self._where} is busy: another reconciler process kept a row locked for over "
                f"{LOCK_TIMEOUT}; retry"
            )
        if sqlstate == "42501":
            return StateError(
                f"the state database refused to {doing}: {text}. Grant the user CREATE on the "
                "database (the first run creates schema 'reconciler') and rights on its tables"
            )
        if sqlstate == "25006":
            return StateError(f"{self._where} was opened read-only; cannot {doing}")
        return StateError(
            f"{self._where}: cannot {doing}: {text}" + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
        )

    def _check_writable(self, what: str) -> None:
        if self.readonly:
            raise StateError(f"{self._where} was opened read-only; cannot {what}")

    def _live(self, doing: str) -> Any:
        if self._closed:
            raise StateError(f"{self._where} is closed")
        if self._lost_lock:
            raise StateError(
                f"lost the connection to the state database {self.url_display} while holding the "
                "apply lock, so this run stopped; run the command again"
            )
        if self._conn is not None and self._conn.broken:
            if self._held is not None:
                self._lost_lock = True
                return self._live(doing)
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    @contextlib.contextmanager
    def _session(self, doing: str) -> Iterator[Any]:
        with self._mutex:
            conn = self._live(doing)
            try:
                yield conn
            except psycopg.Error as error:
                if self._held is not None and conn.broken:
                    self._lost_lock = True
                raise self._error(error, doing) from error

    @contextlib.contextmanager
    def _writing(self, doing: str, *, pipelined: bool = False) -> Iterator[Any]:
        """One transaction. `pipelined`: statements are sent without waiting for each answer (psycopg's
        pipeline mode; reading a result waits), so a put costs about three round trips, not six."""
        self._check_writable(doing)
        with contextlib.ExitStack() as stack:
            conn = stack.enter_context(self._session(doing))
            if pipelined:
                stack.enter_context(conn.pipeline())
            stack.enter_context(conn.transaction())
            yield conn

    @contextlib.contextmanager
    def _statement(self, doing: str) -> Iterator[Any]:
        """A write that is one statement: autocommit makes it its own transaction (one round trip)."""
        self._check_writable(doing)
        with self._session(doing) as conn:
            yield conn

    def _now(self) -> str:
        return iso_utc(self._clock.now())

    # -- StateStore: reads ---------------------------------------------------------------------

    def meta(self) -> StateMeta:
        if self._empty:
            return StateMeta(lineage="", serial=0, schema_version=pg_schema.SCHEMA_VERSION)
        with self._session("read the state") as conn:
            version = pg_schema.schema_version(conn)
            row = conn.execute(
                f"SELECT lineage, serial FROM {S}.workspaces WHERE workspace = %s", (self.workspace,)
            ).fetchone()
        if row is None:  # read-only, and nothing was ever written to this workspace
            return StateMeta(lineage="", serial=0, schema_version=version)
        return StateMeta(lineage=row[0], serial=int(row[1]), schema_version=version)

    def get(self, address: str) -> ResourceRecord | None:
        if self._empty:
            return None
        with self._session(f"read {address}") as conn:
            row = conn.execute(
                f"SELECT {_SELECT} FROM {S}.resources WHERE workspace = %s AND address = %s",
                (self.workspace, address),
            ).fetchone()
        return None if row is None else _record(row)

    def all(self) -> dict[str, ResourceRecord]:
        if self._empty:
            return {}
        with self._session("read the state") as conn:
            rows = conn.execute(
                f"SELECT {_SELECT} FROM {S}.resources WHERE workspace = %s ORDER BY address",
                (self.workspace,),
            ).fetchall()
        return {row[0]: _record(row) for row in rows}

    def events(self, address: str | None = None, limit: int = 100) -> list[Event]:
        if self._empty:
            return []
        where, params = (
            ("AND address = %s", (self.workspace, address, limit))
            if address is not None
            else ("", (self.workspace, limit))
        )
        with self._session("read the events") as conn:
            rows = conn.execute(
                f"SELECT id, ts, address, event, detail FROM (SELECT * FROM {S}.events WHERE workspace = %s "
                f"{where} ORDER BY id DESC LIMIT %s) e ORDER BY id",
                params,
            ).fetchall()
        return [Event(id=int(r[0]), ts=r[1], address=r[2], event=r[3], detail=decode(r[4])) for r in rows]

    def open_journal(self) -> list[JournalEntry]:
        if self._empty:
            return []
        with self._session("read the journal") as conn:
            rows = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS} FROM {S}.journal WHERE workspace = %s "
                "AND status = 'open' ORDER BY id",
                (self.workspace,),
            ).fetchall()
        return [_journal(row) for row in rows]

    def journal_entries(self, address: str | None = None, limit: int = 100) -> list[JournalEntry]:
        """The last `limit` journal entries, open or closed (for one address, or all), oldest first."""
        if self._empty:
            return []
        where, params = (
            ("AND address = %s", (self.workspace, address, limit))
            if address is not None
            else ("", (self.workspace, limit))
        )
        with self._session("read the journal") as conn:
            rows = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS} FROM (SELECT * FROM {S}.journal WHERE workspace = %s {where} "
                "ORDER BY id DESC LIMIT %s) j ORDER BY id",
                params,
            ).fetchall()
        return [_journal(row) for row in rows]

    # -- StateStore: writes --------------------------------------------------------------------

    def put(
        self,
        record: ResourceRecord,
        *,
        event: str,
        detail: dict[str, Any] | None = None,
        close_journal: tuple[int, str, dict[str, Any] | None] | None = None,
    ) -> int:
        now = self._now()
        params = _params(self.workspace, record, now)
        detail_json = _encode(detail or {}, f"{record.address}: event detail")
        closing = None if close_journal is None else self._closing(*close_journal, None)
        with self._writing(f"record {record.address}", pipelined=True) as conn:
            closed = None if closing is None else conn.execute(_CLOSE, self._close_params(*closing))
            upserted = conn.execute(_UPSERT, params)
            if closed is not None and closed.fetchone() is None:
                assert closing is not None
                self._closing_failed(conn, closing[0])  # raises: the transaction is rolled back
            if upserted.fetchone() is None:
                conn.execute(_TOUCH, params)
                return self._serial(conn)
            bumped = conn.execute(_BUMP, (self.workspace,))
            conn.execute(_EVENT, (self.workspace, now, record.address, event, detail_json))
            return int(bumped.fetchone()[0])

    def put_many(self, records: list[ResourceRecord], *, event: str) -> int:
        now = self._now()
        all_params = [
            _params(self.workspace, record, now) for record in records
        ]  # encode before the transaction
        with self._writing(f"record {len(records)} resources") as conn:
            changed: list[str] = []
            with conn.cursor() as cur:
                if all_params:
                    cur.executemany(_UPSERT, all_params, returning=True)
                    for params in all_params:
                        if cur.fetchone() is not None:
                            changed.append(params["address"])
                        cur.nextset()
                changed_set = set(changed)
                unchanged = [p for p in all_params if p["address"] not in changed_set]
                if unchanged:
                    cur.executemany(_TOUCH, unchanged)
            if not changed:
                return self._serial(conn)
            serial = int(conn.execute(_BUMP, (self.workspace,)).fetchone()[0])
            with conn.cursor() as cur:
                cur.executemany(_EVENT, [(self.workspace, now, address, event, "{}") for address in changed])
            return serial

    def remove(self, address: str, *, event: str, detail: dict[str, Any] | None = None) -> int:
        now = self._now()
        detail_json = _encode(detail or {}, f"{address}: event detail")
        with self._writing(f"remove {address}") as conn:
            gone = conn.execute(
                f"DELETE FROM {S}.resources WHERE workspace = %s AND address = %s", (self.workspace, address)
            ).rowcount
            if not gone:
                return self._serial(conn)
            serial = int(conn.execute(_BUMP, (self.workspace,)).fetchone()[0])
            conn.execute(_EVENT, (self.workspace, now, address, event, detail_json))
            return serial

    def move(self, old: str, new: str) -> int:
        now = self._now()
        detail_json = _encode({"from": old, "to": new}, f"{old}: event detail")
        with self._writing(f"move {old} to {new}") as conn:
            rows = conn.execute(
                f"SELECT {_SELECT} FROM {S}.resources WHERE workspace = %s FOR UPDATE", (self.workspace,)
            ).fetchall()
            records = {row[0]: _record(row) for row in rows}
            journal = [
                _journal(row)
                for row in conn.execute(
                    f"SELECT {_JOURNAL_COLUMNS} FROM {S}.journal WHERE workspace = %s "
                    "AND status = 'open' ORDER BY id",
                    (self.workspace,),
                ).fetchall()
            ]
            check_move(records, old, new, journal)
            writes = [_params(self.workspace, r, now) for r in moved_records(records, old, new)]
            conn.execute(
                f"DELETE FROM {S}.resources WHERE workspace = %s AND address = %s", (self.workspace, old)
            )
            for params in writes:
                conn.execute(_UPSERT, params)
            serial = int(conn.execute(_BUMP, (self.workspace,)).fetchone()[0])
            conn.execute(_EVENT, (self.workspace, now, new, "moved", detail_json))
            return serial

    def append_event(
        self, event: str, address: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        now = self._now()
        detail_json = _encode(detail or {}, "event detail")
        with self._statement(f"record event {event}") as conn:
            conn.execute(_EVENT, (self.workspace, now, address, event, detail_json))

    def journal_open(
        self,
        address: str,
        operation: str,
        provider: str,
        request: dict[str, Any],
        fingerprint: dict[str, Any],
    ) -> int:
        now = self._now()
        request_json = _encode(request, f"{address}: journal request")
        fingerprint_json = _encode(fingerprint, f"{address}: journal fingerprint")
        with self._statement(f"journal {operation} of {address}") as conn:
            row = conn.execute(
                f"INSERT INTO {S}.journal (workspace, address, operation, provider, request, fingerprint, status, "
                "started_at) VALUES (%s, %s, %s, %s, %s, %s, 'open', %s) RETURNING id",
                (self.workspace, address, operation, provider, request_json, fingerprint_json, now),
            ).fetchone()
            return int(row[0])

    def journal_close(
        self, entry_id: int, status: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        closing = self._closing(entry_id, status, result, error)
        with self._statement(f"close journal entry {entry_id}") as conn:
            if conn.execute(_CLOSE, self._close_params(*closing)).fetchone() is None:
                self._closing_failed(conn, entry_id)

    def _serial(self, conn: Any) -> int:
        row = conn.execute(_SERIAL, (self.workspace,)).fetchone()
        if row is None:
            raise StateError(f"{self._where}: the workspace row is missing; the state is damaged")
        return int(row[0])

    def _closing(
        self, entry_id: int, status: str, result: dict[str, Any] | None, error: str | None
    ) -> tuple[int, str, str, str | None, str | None]:
        if status not in _CLOSED_STATUSES:
            allowed = ", ".join(s.value for s in JournalStatus if s is not JournalStatus.OPEN)
            raise StateError(
                f"journal entry {entry_id}: cannot close with status {status!r}; use one of: {allowed}"
            )
        result_json = None if result is None else _encode(result, f"journal entry {entry_id}: result")
        return entry_id, str(status), self._now(), result_json, None if error is None else redact_text(error)

    def _close_params(
        self, entry_id: int, status: str, now: str, result_json: str | None, error_text: str | None
    ) -> tuple[Any, ...]:
        return (status, now, result_json, error_text, self.workspace, entry_id)

    def _closing_failed(self, conn: Any, entry_id: int) -> None:
        """Say why an entry could not be closed (it is not open, or does not exist)."""
        row = conn.execute(
            f"SELECT status FROM {S}.journal WHERE workspace = %s AND id = %s", (self.workspace, entry_id)
        ).fetchone()
        if row is None:
            raise StateError(f"journal entry {entry_id} does not exist in {self._where}")
        raise StateError(f"journal entry {entry_id} is already closed ({row[0]})")

    # -- moving a state (`state migrate`) ------------------------------------------------------

    def import_snapshot(self, snapshot: StateSnapshot) -> None:
        """Write a copied state into this empty workspace exactly: lineage, serial, records with their
        timestamps, journal entries and events with their ids."""
        rows = [_params(self.workspace, r, r.updated_at or self._now()) for r in snapshot.resources.values()]
        journal = [
            (
                self.workspace,
                e.id,
                e.address,
                e.operation,
                e.provider,
                _encode(e.request, "request"),
                _encode(e.fingerprint, "fingerprint"),
                str(e.status),
                e.started_at,
                e.finished_at,
                None if e.result is None else _encode(e.result, "result"),
                e.error,
            )
            for e in snapshot.journal
        ]
        events = [
            (self.workspace, e.id, e.ts, e.address, e.event, _encode(e.detail, "detail"))
            for e in snapshot.events
        ]
        with self._writing("import a state") as conn:
            row = conn.execute(
                f"SELECT lineage, serial FROM {S}.workspaces WHERE workspace = %s FOR UPDATE",
                (self.workspace,),
            ).fetchone()
            used = conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM {S}.resources WHERE workspace = %(w)s) OR EXISTS (SELECT 1 FROM "
                f"{S}.journal WHERE workspace = %(w)s) OR EXISTS (SELECT 1 FROM {S}.events WHERE workspace = %(w)s)",
                {"w": self.workspace},
            ).fetchone()[0]
            if row is None or row[1] or used:
                raise StateError(
                    f"{self._where} already holds a state (lineage {row[0] if row else '?'}, serial "
                    f"{row[1] if row else '?'}); migrate into an empty workspace (another "
                    "--to-workspace) instead"
                )
            conn.execute(
                f"UPDATE {S}.workspaces SET lineage = %s, serial = %s WHERE workspace = %s",
                (snapshot.lineage, snapshot.serial, self.workspace),
            )
            with conn.cursor() as cur:
                if rows:
                    cur.executemany(
                        f"INSERT INTO {S}.resources (workspace, {_SELECT}) VALUES (%(workspace)s, "
                        + ", ".join("%(now)s" if c == "updated_at" else f"%({c})s" for c in COLUMNS)
                        + ")",
                        rows,
                    )
                if journal:
                    cur.executemany(
                        f"INSERT INTO {S}.journal (workspace, {_JOURNAL_COLUMNS}) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        journal,
                    )
                if events:
                    cur.executemany(
                        f"INSERT INTO {S}.events (workspace, id, ts, address, event, detail) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        events,
                    )
            for table, entries in (("journal", journal), ("events", events)):
                if entries:  # move the sequence past the copied ids (forward only)
                    top = max(e[1] for e in entries)
                    conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{S}.{table}', 'id'), %(top)s) "
                        f"FROM {S}.{table}_id_seq WHERE last_value < %(top)s",
                        {"top": top},
                    )

    # -- StateStore: the apply lock ------------------------------------------------------------

    def _key_parts(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "hi": (self._key >> 32) & 0xFFFFFFFF,
            "lo": self._key & 0xFFFFFFFF,
        }

    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
        self._check_writable(f"take the lock for '{operation}'")
        info = self._acquire(operation, timeout)
        try:
            yield info
        finally:
            with self._mutex:
                if self._held is not None and self._held.lock_id == info.lock_id:
                    self._release()

    def _acquire(self, operation: str, timeout: float) -> LockInfo:
        deadline = self._clock.monotonic() + max(timeout, 0.0)
        while True:
            with self._mutex:
                if self._held is not None:
                    raise LockedError(self._held, self.path, remedy=LOCK_REMEDY)
                with self._session(f"take the lock for '{operation}'") as conn:
                    if conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()[0]:
                        return self._record_holder(conn, operation)
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise LockedError(self._holder(wait=True) or UNKNOWN_HOLDER, self.path, remedy=LOCK_REMEDY)
            self._clock.sleep(min(POLL_INTERVAL, remaining))

    def _record_holder(self, conn: Any, operation: str) -> LockInfo:
        info = LockInfo(
            owner=current_user(),
            pid=os.getpid(),
            host=socket.gethostname(),
            operation=operation,
            started_at=self._now(),
            lock_id=str(uuid.uuid4()),
        )
        try:
            conn.execute(
                f"INSERT INTO {S}.lock_holders (workspace, owner, pid, host, operation, started_at, lock_id, "
                "backend_pid) VALUES (%s, %s, %s, %s, %s, %s, %s, pg_backend_pid()) ON CONFLICT (workspace) DO "
                "UPDATE SET owner = EXCLUDED.owner, pid = EXCLUDED.pid, host = EXCLUDED.host, operation = "
                "EXCLUDED.operation, started_at = EXCLUDED.started_at, lock_id = EXCLUDED.lock_id, "
                "backend_pid = EXCLUDED.backend_pid",
                (
                    self.workspace,
                    info.owner,
                    info.pid,
                    info.host,
                    info.operation,
                    info.started_at,
                    info.lock_id,
                ),
            )
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            raise
        self._held = info
        return info

    def _release(self) -> None:
        """Drop our holder row and the lock. A lost connection already released it: nothing to do."""
        info, self._held = self._held, None
        conn = self._conn
        if info is None or conn is None or conn.broken or self._lost_lock:
            return
        with contextlib.suppress(psycopg.Error):
            conn.execute(
                f"DELETE FROM {S}.lock_holders WHERE workspace = %s AND lock_id = %s",
                (self.workspace, info.lock_id),
            )
            conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))

    def _holder(self, *, wait: bool) -> LockInfo | None:
        """Who holds this workspace's lock now (None: nobody). `wait`: give a new holder time to write its row."""
        attempts = _INFO_READ_ATTEMPTS if wait else 1
        for attempt in range(attempts):
            with self._session("read the lock") as conn:
                row = conn.execute(_HOLDER, self._key_parts()).fetchone()
            if row is None:
                return None
            if row[1] is not None:
                return LockInfo(
                    owner=row[1],
                    pid=int(row[2]),
                    host=row[3],
                    operation=row[4],
                    started_at=row[5],
                    lock_id=row[6],
                )
            if attempt + 1 < attempts:
                time.sleep(_INFO_READ_PAUSE)
        return UNKNOWN_HOLDER

    def lock_info(self) -> LockInfo | None:
        if self._held is not None:
            return self._held
        if self._empty:
            return None
        return self._holder(wait=True)

    def force_unlock(self, lock_id: str | None = None) -> LockInfo | None:
        self._check_writable("force-unlock")
        with self._mutex:
            if self._held is not None:
                raise StateError(
                    f"this process holds the lock (lock id {self._held.lock_id}); release it "
                    "instead of forcing"
                )
            with self._session("read the lock") as conn:
                live = conn.execute(_HOLDER, self._key_parts()).fetchone()
                stale = conn.execute(
                    f"SELECT owner, pid, host, operation, started_at, lock_id FROM {S}.lock_holders "
                    "WHERE workspace = %s",
                    (self.workspace,),
                ).fetchone()
            recorded = (
                None
                if stale is None
                else LockInfo(stale[0], int(stale[1]), stale[2], stale[3], stale[4], stale[5])
            )
            if lock_id is not None and (recorded is None or recorded.lock_id != lock_id):
                current = recorded.lock_id if recorded else "none"
                raise StateError(
                    f"lock id {lock_id} does not match the current lock (lock id {current}); run "
                    "'reconciler force-unlock' with the id the refused command printed"
                )
            if live is not None:
                holder = recorded if recorded is not None and live[1] is not None else UNKNOWN_HOLDER
                raise StateError(
                    f"the lock is held by a live session: {holder.owner} (pid {holder.pid} on {holder.host}), "
                    f"'{holder.operation}' since {holder.started_at}. It is released the moment that process "
                    "exits or its connection drops: stop that process (a database administrator can also end its "
                    f"session: SELECT pg_terminate_backend({live[0]}))"
                )
            if recorded is not None:
                with self._writing("force-unlock") as conn:
                    conn.execute(
                        f"DELETE FROM {S}.lock_holders WHERE workspace = %s AND lock_id = %s",
                        (self.workspace, recorded.lock_id),
                    )
            return recorded


__all__ = ["LOCK_REMEDY", "PostgresStateStore", "advisory_key"]
