"""`SqliteStateStore`: the state cache in one SQLite file (via sqlite-utils and sqlite3).

Layout (DESIGN.md §3): `<root>/.reconciler/state.db`, the apply lock beside it in
`state.db.lock`. Tables: `meta` (lineage, serial, schema version), `resources` (one row per
address; dict fields as compact JSON), `events` (append-only, enforced by triggers), `journal`
(provider calls, written before they are sent). Schema changes go through `migrations.py`.

Writes: each is one `BEGIN IMMEDIATE` … `COMMIT` of a few rows (upsert + serial bump + event),
with prepared statements and no schema checks on the hot path; nothing slow ever runs inside a
transaction. While writers are open the file is in WAL mode with `synchronous=NORMAL`.

Read-only opens leave the file byte-for-byte unchanged and create no files. SQLite would make a
read-only connection to a WAL database create `-wal`/`-shm` files and leave them behind, so a
writable store, when it closes, checkpoints and switches the file back to rollback-journal mode
(the WAL files disappear); read-only opens of that file then need nothing but a shared read
lock. If a writer is still open (or died) its WAL files already exist and the reader uses them.
When the last two cannot switch (a reader outlived the writer), the WAL files stay until the
next writer closes; readers use them and still create nothing. A file in WAL mode without its
WAL files (hand-made, or another tool's) is opened `immutable=1`, because otherwise SQLite would
create them: such a reader does not notice a writer that starts while it is open (its view goes
stale — and a plan made from it is refused by apply, since the serial moved). A missing state
file reads as an empty state (lineage `""`, serial 0) and nothing is created.

Threads: one connection, opened with `check_same_thread=False` and guarded by one mutex, so the
engine's workers may call any method; SQLite serialises writes anyway, and each call is short.
Other processes are coordinated by SQLite's own locking (`busy_timeout`) and the apply lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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
from reconciler.state import migrations
from reconciler.state.interface import StateError
from reconciler.state.locking import FileApplyLock, InProcessApplyLock
from reconciler.state.redaction import decode, encode, encode_all, redact_text
from reconciler.state.renaming import check_move, moved_records

if TYPE_CHECKING:
    from sqlite_utils import Database

BUSY_TIMEOUT_S = 30.0  # another process's write transaction is milliseconds; this is generous
# Pages the WAL may hold before a commit copies it back into the file (SQLite: 1,000; 40 MB here).
WAL_AUTOCHECKPOINT_PAGES = 10_000
_SQLITE_MAGIC = b"SQLite format 3\x00"

_RESOURCE_COLUMNS = (
    "address, kind, name, provider, provider_type, remote_id, spec, spec_hash, content_digest, "
    "content_files, status, observed, outputs, dependencies, labels, lifecycle, created_at, updated_at, observed_at, "
    "deposed, built_from"
)
# Columns later migrations added, and what a read-only open of an older file reads instead.
_LATER_COLUMNS = {"deposed": "'[]' AS deposed", "built_from": "'{}' AS built_from"}
_COMPARED = (
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
    "deposed",
    "built_from",
)
# Insert, or update only when something but the timestamps differs: rowcount 0 means "no change".
_UPSERT = (
    f"INSERT INTO resources ({_RESOURCE_COLUMNS}) VALUES (:address, :kind, :name, :provider, :provider_type, "
    ":remote_id, :spec, :spec_hash, :content_digest, :content_files, :status, :observed, :outputs, "
    ":dependencies, :labels, :lifecycle, COALESCE(:created_at, :now), :now, :observed_at, :deposed, :built_from) "
    "ON CONFLICT (address) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COMPARED)
    + ", created_at = COALESCE(:created_at, resources.created_at), updated_at = :now, "
    "observed_at = excluded.observed_at WHERE "
    + " OR ".join(f"resources.{c} IS NOT excluded.{c}" for c in _COMPARED)
    + " OR (:created_at IS NOT NULL AND :created_at IS NOT resources.created_at)"
)
# A refresh that only re-observed an unchanged object: keep observed_at, move nothing else.
_TOUCH = "UPDATE resources SET observed_at = :observed_at WHERE address = :address AND observed_at IS NOT :observed_at"
_BUMP = "UPDATE meta SET serial = serial + 1 WHERE id = 1 RETURNING serial"
_SERIAL = "SELECT serial FROM meta WHERE id = 1"
_EVENT = "INSERT INTO events (ts, address, event, detail) VALUES (?, ?, ?, ?)"
_JOURNAL_COLUMNS = (
    "id, address, operation, provider, request, fingerprint, status, started_at, finished_at, result, error"
)
# The JSON columns `_params` encodes, in its order (observed, when not None, comes last).
_PARAM_JSON = (
    "spec",
    "content_files",
    "outputs",
    "dependencies",
    "labels",
    "lifecycle",
    "deposed",
    "built_from",
)
_CLOSED_STATUSES = frozenset({JournalStatus.DONE, JournalStatus.FAILED, JournalStatus.RESOLVED})


def _record_from_row(row: tuple[Any, ...]) -> ResourceRecord:
    return ResourceRecord(
        address=row[0],
        kind=row[1],
        name=row[2],
        provider=row[3],
        provider_type=row[4],
        remote_id=row[5],
        spec=decode(row[6]),
        spec_hash=row[7],
        content_digest=row[8],
        content_files=decode(row[9]),
        status=row[10],
        observed=decode(row[11]),
        outputs=decode(row[12]),
        dependencies=decode(row[13]),
        labels=decode(row[14]),
        lifecycle=decode(row[15]),
        created_at=row[16],
        updated_at=row[17],
        observed_at=row[18],
        deposed=decode(row[19]),
        built_from=decode(row[20]),
    )


_JSON_AT = (6, 9, 11, 12, 13, 14, 15, 19, 20)  # the JSON columns of a resources row, in _RESOURCE_COLUMNS


def _records_from_rows(rows: list[tuple[Any, ...]]) -> dict[str, ResourceRecord]:
    """Many rows at once: every JSON column of every row decoded by one `json.loads` of one array.

    (32,000 small decodes at 4,000 resources cost twice what one large one does.) A column that
    is not JSON falls back to decoding row by row, which raises exactly as a single read would.
    """
    texts = [row[i] or "null" for row in rows for i in _JSON_AT]
    try:
        values = json.loads(f"[{','.join(texts)}]")
    except ValueError:
        return {row[0]: _record_from_row(row) for row in rows}
    records: dict[str, ResourceRecord] = {}
    n = len(_JSON_AT)
    for k, row in enumerate(rows):
        spec, content_files, observed, outputs, dependencies, labels, lifecycle, deposed, built_from = values[
            k * n : k * n + n
        ]
        records[row[0]] = ResourceRecord(
            address=row[0], kind=row[1], name=row[2], provider=row[3], provider_type=row[4], remote_id=row[5],
            spec=spec, spec_hash=row[7], content_digest=row[8], content_files=content_files, status=row[10],
            observed=observed, outputs=outputs, dependencies=dependencies, labels=labels, lifecycle=lifecycle,
            created_at=row[16], updated_at=row[17], observed_at=row[18], deposed=deposed, built_from=built_from,
        )  # fmt: skip
    return records


# Read on demand (`_StoredRecord`): the large JSON columns a no-change plan never looks at. A
# record's applied spec, its dataset's file table and its last observed object are two thirds of
# a state's JSON (at 1,000 chains: 4.7 of 7 MB, decoded 11.5 MB); a plan compares spec hashes and
# content digests, and a refresh replaces the observed object. The outputs are read only by a
# refresh (every record's: decoded a batch at a time, `_BatchColumn`) and by a spec with plan facts
# (a checkpoint selector's resolution). The rest is decoded at once.
_DEFERRED_AT = {6: "spec", 9: "content_files", 11: "observed", 12: "outputs"}
_EAGER_AT = tuple(i for i in _JSON_AT if i not in _DEFERRED_AT)


class _Deferred:
    """A field of `_StoredRecord` decoded from its JSON text on first read, then an ordinary field.

    A non-data descriptor (as `functools.cached_property`): once the value is in the instance's
    `__dict__`, that is what is read, and assignment simply sets it there. (Not `__getattr__`: a
    dataclass field with a default, such as `observed`, is also a class attribute, which would be
    found first.)"""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, record: ResourceRecord | None, owner: type | None = None) -> Any:
        if record is None:
            return self
        raw: dict[str, Any] | None = record.__dict__.get("_raw")
        if raw is None or self.name not in raw:
            raise AttributeError(f"'ResourceRecord' object has no attribute {self.name!r}")
        text = raw[self.name]
        # `outputs` is decoded with the rest of its batch's column (`_BatchColumn`); an empty
        # column is NULL, as `_records_from_rows` reads it
        kind = type(text)
        if kind is _Overlaid:  # a refreshed record's outputs: the recorded ones, the provider's over them
            value = text.merged()
        else:
            value = text.column.value(text.at) if kind is _InBatch else decode(text or None)
        record.__dict__[self.name] = value
        rest = raw.copy()  # (a copy and a `del`: a quarter of a comprehension's cost, same order)
        del rest[self.name]
        record.__dict__["_raw"] = rest
        return value


class _BatchColumn:
    """One deferred column (`outputs`) of a batch of rows, as JSON texts, decoded all at once when
    any record of the batch first reads it: one `json.loads` of one array, as the eager read did
    (one decode per record costs twice as much, and a refresh reads every record's outputs).

    A batch whose texts do not decode together decodes each one alone on its read, so that only
    the record whose column is not JSON raises, as `decode` raises for it. `strings` is the read's
    shared note strings (`_share_strings`), applied as the eager read applied them."""

    __slots__ = ("_texts", "_values", "_strings")

    def __init__(self, texts: list[str | None], strings: dict[str, str]) -> None:
        self._texts: list[str | None] | None = texts
        self._values: list[Any] | None = None
        self._strings: dict[str, str] | None = strings

    def value(self, at: int) -> Any:
        if self._values is None:
            texts, strings = self._texts, self._strings
            assert texts is not None and strings is not None  # (set until decoded, then dropped)
            try:
                values = json.loads(f"[{','.join(t or 'null' for t in texts)}]")
            except ValueError:
                return decode(texts[at] or None)  # this one's own text: it raises if it is the bad one
            for value in values:
                _share_strings(value, strings)
            self._values, self._texts, self._strings = values, None, None
        return self._values[at]


class _InBatch:
    """A `_StoredRecord`'s place in a `_BatchColumn` (what `_raw` holds instead of the text)."""

    __slots__ = ("column", "at")

    def __init__(self, column: _BatchColumn, at: int) -> None:
        self.column = column
        self.at = at


class _Overlaid:
    """A refreshed `_StoredRecord`'s `outputs` until first read (what `_raw` holds instead): the
    recorded ones (`base`, as `_raw` held them) with the provider's (`seen`) laid over them, as
    `ResourceRecord.with_refreshed` makes them at once. A no-change plan reads no record's outputs:
    a refresh then decodes none of them (and compares none), and keeps no merged dicts."""

    __slots__ = ("base", "seen")

    def __init__(self, base: str | _InBatch | None, seen: Mapping[str, Any]) -> None:
        self.base = base
        self.seen = seen

    def merged(self) -> Any:
        base = self.base
        outputs = base.column.value(base.at) if isinstance(base, _InBatch) else decode(base or None)
        seen = self.seen
        return outputs if seen.items() <= outputs.items() else {**outputs, **seen}


class _StoredRecord(ResourceRecord):
    """A `ResourceRecord` read by `SqliteStateStore.all()`: the columns of `_DEFERRED_AT` are kept as
    their JSON text (in `_raw`) and decoded when first read, then kept like any other field.

    It is a ResourceRecord in every other way: `==` compares it with any record field by field,
    `dataclasses.replace`, `asdict`, copies and pickles read the fields through attribute access
    (which decodes), and `with_changes` keeps what is still undecoded. `_raw` is never changed in
    place (a decode or a change gives the record a new, smaller one), so copies may share it.
    """

    spec = _Deferred()
    content_files = _Deferred()
    observed = _Deferred()
    outputs = _Deferred()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceRecord):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = ResourceRecord.__hash__  # (None: a mutable dataclass is not hashable)

    def __repr__(self) -> str:  # what it is to everyone: a ResourceRecord (the fields decode to be shown)
        return "ResourceRecord" + super().__repr__().removeprefix(type(self).__qualname__)

    def observed_text(self) -> str | None:
        if "observed" in self.__dict__:  # decoded (or assigned) already
            return None
        raw = self.__dict__.get("_raw")
        text = raw.get("observed") if raw else None
        return text if type(text) is str else None

    def with_changes(self, **changes: Any) -> ResourceRecord:
        new = super().with_changes(**changes)
        raw = self.__dict__.get("_raw")
        if raw and not raw.keys().isdisjoint(changes):  # a changed field's old text is not kept
            new.__dict__["_raw"] = {k: v for k, v in raw.items() if k not in changes}
        return new

    def with_observation(
        self, status: str | None, observed: dict[str, Any] | None, outputs: dict[str, Any], observed_at: str
    ) -> ResourceRecord:
        new = super().with_observation(status, observed, outputs, observed_at)
        raw = self.__dict__.get("_raw")
        if raw and (
            "observed" in raw or "outputs" in raw
        ):  # the deferred ones among the four: their old texts go
            rest = raw.copy()
            rest.pop("observed", None)
            rest.pop("outputs", None)
            new.__dict__["_raw"] = rest
        return new

    def with_refreshed(
        self, status: str | None, observed: dict[str, Any] | None, seen: Mapping[str, Any], observed_at: str
    ) -> ResourceRecord:
        raw = self.__dict__.get("_raw")
        if not raw or "outputs" not in raw:  # decoded already: merged at once
            return super().with_refreshed(status, observed, seen, observed_at)
        new = object.__new__(type(self))
        fields_of = new.__dict__
        fields_of.update(self.__dict__)
        fields_of["status"] = status
        fields_of["observed"] = observed
        fields_of["observed_at"] = observed_at
        rest = raw.copy()  # the stored object's text goes; the outputs are merged when first read
        rest.pop("observed", None)
        rest["outputs"] = _Overlaid(raw["outputs"], seen)
        fields_of["_raw"] = rest
        return new


# Of the columns decoded at once, these two hold one of a few texts in most states (every resource
# written without lifecycle settings has the same lifecycle; labels are shared by whole projects):
# each distinct text is decoded once per read, and the records that hold it share the value. Safe
# because a record's labels and lifecycle are never changed in place (a change makes a new record,
# `with_changes`), as the planner's actions already share their default lifecycle.
_SHARED_AT = (14, 15)
_BATCHED_AT = tuple(i for i in _EAGER_AT if i not in _SHARED_AT)


# Rows are read and decoded this many at a time: the texts of a batch (its rows, their JSON
# columns joined for one `json.loads`) are garbage once it is decoded, and the next batch reuses
# their memory. All at once, a 20,000-resource state held every row's texts beside the records
# made from them (~30 MB more at the peak, which the process's RSS keeps).
_ROWS_PER_BATCH = 500


def _read_deferred_records(cursor: sqlite3.Cursor) -> dict[str, ResourceRecord]:
    """`_deferred_records_from_rows` of every row `cursor` gives, `_ROWS_PER_BATCH` rows at a time."""
    records: dict[str, ResourceRecord] = {}
    shared: dict[str, Any] = {}
    strings: dict[str, str] = {}
    ids: dict[str, str] = {}  # (only while reading: the notes' `strings` live on in undecoded batches)
    while rows := cursor.fetchmany(_ROWS_PER_BATCH):
        _deferred_records_from_rows(rows, records, shared, strings, ids)
    return records


def _share_strings(outputs: Any, strings: dict[str, str]) -> None:
    """The string values of the dicts inside `outputs` (cost notes, prices, their sources), one
    object per distinct text across the read: every resource of a kind carries the same few notes
    (~0.4 KB a record). Strings are immutable, so sharing them changes nothing a reader sees."""
    if type(outputs) is not dict:
        return
    for value in outputs.values():
        if type(value) is dict:
            for key, item in value.items():
                if type(item) is str:
                    value[key] = strings.setdefault(item, item)


def _deferred_records_from_rows(
    rows: list[tuple[Any, ...]],
    records: dict[str, ResourceRecord],
    shared: dict[str, Any],
    strings: dict[str, str],
    ids: dict[str, str] | None = None,
) -> None:
    """`_records_from_rows`, the columns of `_DEFERRED_AT` left undecoded (`_StoredRecord`), added to
    `records`. `shared` (labels and lifecycle values by text), `strings` and `ids` carry over
    between batches of one read.

    `ids` makes an address or remote id one string wherever the read holds it: a record's own, and
    in the records that depend on it (`dependencies`, the keys and values of `built_from`)."""
    if ids is None:
        ids = {}
    texts = [row[i] or "null" for row in rows for i in _BATCHED_AT]
    try:
        values = json.loads(f"[{','.join(texts)}]")
        for text in {row[i] or "null" for row in rows for i in _SHARED_AT}:
            if text not in shared:
                shared[text] = json.loads(text)
    except ValueError:
        records.update((row[0], _record_from_row(row)) for row in rows)
        return
    del texts
    n = len(_BATCHED_AT)
    new, set_dict, intern, share = object.__new__, object.__setattr__, sys.intern, strings.setdefault
    outputs = _BatchColumn([row[12] for row in rows], strings)  # decoded on the first read of one
    same = ids.setdefault
    for k, row in enumerate(rows):
        dependencies, deposed, built_from = values[k * n : k * n + n]
        if dependencies:
            dependencies = [same(d, d) if type(d) is str else d for d in dependencies]
        if built_from and type(built_from) is dict:
            built_from = {same(a, a): same(i, i) if type(i) is str else i for a, i in built_from.items()}
        record = new(_StoredRecord)
        address = same(row[0], row[0])
        # kind, provider, provider type and status take a handful of values: one string each, not
        # one per row (SQLite gives every row its own); so do the creation and observation times,
        # which one apply or refresh stamps on many rows at once (20,000 rows of a benchmark state
        # hold ~400 of each), by the read's `strings`; a dict literal, not `update(**…)`
        set_dict(record, "__dict__", {
            "address": address, "kind": intern(row[1]), "name": row[2],
            "provider": intern(row[3]), "provider_type": intern(row[4]),
            "remote_id": row[5] if row[5] is None else same(row[5], row[5]), "spec_hash": row[7],
            "content_digest": row[8], "status": row[10] if row[10] is None else intern(row[10]),
            "dependencies": dependencies, "labels": shared[row[14] or "null"],
            "lifecycle": shared[row[15] or "null"],
            "created_at": row[16] if row[16] is None else share(row[16], row[16]), "updated_at": row[17],
            "observed_at": row[18] if row[18] is None else share(row[18], row[18]),
            "deposed": deposed, "built_from": built_from,
            "_raw": {
                "spec": row[6], "content_files": row[9], "observed": row[11], "outputs": _InBatch(outputs, k)
            },
        })  # fmt: skip
        records[address] = record


def _journal_from_row(row: tuple[Any, ...]) -> JournalEntry:
    return JournalEntry(
        id=row[0],
        address=row[1],
        operation=row[2],
        provider=row[3],
        request=decode(row[4]),
        fingerprint=decode(row[5]),
        status=row[6],
        started_at=row[7],
        finished_at=row[8],
        result=decode(row[9]),
        error=row[10],
    )


def _check_address(record: ResourceRecord) -> None:
    if record.address != f"{record.kind}/{record.name}":
        raise StateError(
            f"record address {record.address!r} does not match its kind and name ({record.kind}/{record.name})"
        )


def _encode_field(value: Any, what: str) -> str:
    try:
        return encode(value)
    except (TypeError, ValueError) as error:
        raise StateError(f"{what} is not JSON data and cannot be stored: {error}") from error


def _sqlite_error(error: sqlite3.Error, where: str, file: str | Path | None = None) -> StateError:
    text = str(error)
    if "locked" in text or "busy" in text:
        return StateError(
            f"{where} is busy: another reconciler process kept it locked for over {BUSY_TIMEOUT_S:.0f}s; retry"
        )
    if "not a database" in text or "malformed" in text:
        return StateError(f"{where} is not a readable reconciler state ({text}); check --state")
    if "readonly" in text or "read-only" in text:
        return StateError(
            f"{where} cannot be written ({text}); {_how_to_write(file)}. "
            "Commands that only read the state ('plan', 'state list', 'output') still work"
        )
    return StateError(f"{where}: SQLite error: {text}")


def _how_to_write(file: str | Path | None) -> str:
    """Which of the two SQLite needs is missing: the file, or its directory (for the journal beside it)."""
    if file is None:
        return "check the permissions of the file and its directory"
    path = Path(file)
    if not os.access(path.parent, os.W_OK):
        return (
            f"its directory {path.parent} is read-only, and SQLite writes its journal beside the file: "
            f"make the directory writable (chmod u+w {path.parent})"
        )
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file is read-only: make it writable (chmod u+w {path})"
    return "check the permissions of the file and its directory"


def _connect(database: str, **options: Any) -> sqlite3.Connection:
    forked.note_database_opened()  # no fork of a child that opens a database from here on
    conn: sqlite3.Connection = sqlite3.connect(database, **options)
    return conn


class SqliteStateStore:
    """A `StateStore` in SQLite. Open it with `open()` (a file) or `in_memory()` (tests, scripts)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        path: str | None,
        readonly: bool,
        clock: Clock,
        apply_lock: FileApplyLock | InProcessApplyLock | None,
        switch_to_rollback_on_close: bool,
    ) -> None:
        self.path = path
        self.readonly = readonly
        self._conn: sqlite3.Connection | None = conn
        self._database: Database | None = None
        self._clock = clock
        self._apply_lock = apply_lock
        self._switch_on_close = switch_to_rollback_on_close
        self._mutex = threading.RLock()
        self._where = f"state {path}" if path else "in-memory state"

    @property
    def _db(self) -> Database:
        """sqlite-utils over the same connection, for migrations (a read-only open never needs it)."""
        if self._database is None:
            from sqlite_utils import Database

            assert self._conn is not None
            self._database = Database(self._conn, execute_plugins=False)
        return self._database

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path, *, readonly: bool = False, create: bool = True, clock: Clock = SYSTEM_CLOCK
    ) -> SqliteStateStore:
        file = Path(path)
        if file.is_dir():
            raise StateError(
                f"--state {file} is a directory; give the state file's path (e.g. {file}/state.db)"
            )
        if readonly:
            return cls._open_readonly(file, clock)
        if not file.exists() and not create:
            raise StateError(f"no state at {file}; run 'reconciler apply' first or check --state")
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StateError(
                f"cannot create {file.parent} for the state: {error.strerror}; make its parent "
                "directory writable, or keep the state elsewhere with --state PATH"
            ) from error
        cls._check_header(file)
        where = f"state {file}"
        try:
            conn = _connect(
                str(file),
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_S,
                cached_statements=64,
            )
        except sqlite3.Error as error:
            raise _sqlite_error(error, where, file) from error
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
            store = cls(
                conn,
                path=str(file),
                readonly=False,
                clock=clock,
                apply_lock=FileApplyLock(Path(f"{file}.lock"), clock),
                switch_to_rollback_on_close=True,
            )
            # Version check (and migration) first: a newer reconciler's file is refused untouched.
            migrations.migrate(conn, lineage=str(uuid.uuid4()), now=iso_utc(clock.now()), where=where)
            conn.execute("PRAGMA journal_mode = WAL")
            # Checkpoint every WAL_AUTOCHECKPOINT_PAGES instead of SQLite's 1,000: an apply commits
            # three small transactions per resource (~10 pages), so the default copied the WAL back
            # into the file, with two fsyncs, every ~100 resources, inside a step's commit (and the
            # other steps wait for it). What is committed, and what a kill -9 leaves, is the same:
            # the WAL holds committed transactions either way and the next open replays it.
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        except sqlite3.Error as error:
            conn.close()
            raise _sqlite_error(error, where, file) from error
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def in_memory(cls, *, clock: Clock = SYSTEM_CLOCK) -> SqliteStateStore:
        """A private, empty state that lives as long as the object (its lock is a process-local mutex)."""
        conn = _connect(":memory:", isolation_level=None, check_same_thread=False)
        store = cls(
            conn,
            path=None,
            readonly=False,
            clock=clock,
            apply_lock=InProcessApplyLock(clock),
            switch_to_rollback_on_close=False,
        )
        migrations.migrate(conn, lineage=str(uuid.uuid4()), now=iso_utc(clock.now()), where="in-memory state")
        return store

    @classmethod
    def _open_readonly(cls, file: Path, clock: Clock) -> SqliteStateStore:
        where = f"state {file}"
        header = cls._check_header(file)
        if header is None:
            return cls._empty_readonly(file, clock)
        wal_mode = header[18] == 2
        wal_files = any(Path(f"{file}{suffix}").exists() for suffix in ("-wal", "-shm"))
        uri = f"file:{quote(str(file.absolute()))}?mode=ro"
        if wal_mode and not wal_files:
            uri += "&immutable=1"
        try:
            conn = _connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
            )
        except sqlite3.Error as error:
            raise _sqlite_error(error, where, file) from error
        store = cls(
            conn,
            path=str(file),
            readonly=True,
            clock=clock,
            apply_lock=FileApplyLock(Path(f"{file}.lock"), clock),
            switch_to_rollback_on_close=False,
        )
        try:
            version = migrations.schema_version(conn)
        except sqlite3.Error as error:
            conn.close()
            raise _sqlite_error(error, where, file) from error
        except BaseException:
            conn.close()
            raise
        if version == 0:  # an empty SQLite file: nothing was ever written to it
            conn.close()
            return cls._empty_readonly(file, clock)
        if version > migrations.SCHEMA_VERSION:
            conn.close()
            raise migrations.newer_version_error(version, where)
        if version < migrations.MIN_READABLE_VERSION:
            conn.close()
            raise StateError(
                f"{where} has an old schema (version {version}) that a read-only command cannot read; "
                "run a command that writes the state (e.g. 'reconciler refresh') to upgrade it"
            )
        return store

    @classmethod
    def _empty_readonly(cls, file: Path, clock: Clock) -> SqliteStateStore:
        """No state yet: reads see an empty state (lineage "", serial 0), and nothing is created on disk."""
        conn = _connect(":memory:", isolation_level=None, check_same_thread=False)
        store = cls(
            conn,
            path=str(file),
            readonly=True,
            clock=clock,
            apply_lock=None,
            switch_to_rollback_on_close=False,
        )
        migrations.migrate(conn, lineage="", now=iso_utc(clock.now()), where=f"state {file}")
        return store

    @staticmethod
    def _check_header(file: Path) -> bytes | None:
        """The file's first 100 bytes, None when it is missing or empty; StateError if it is not SQLite."""
        try:
            with open(file, "rb") as handle:
                header = handle.read(100)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateError(
                f"cannot read the state {file}: {error.strerror}; check its permissions, "
                "or the path given with --state"
            ) from error
        if not header:
            return None
        if not header.startswith(_SQLITE_MAGIC) or len(header) < 100:
            raise StateError(f"{file} is not a SQLite file, so not a reconciler state; check --state")
        return header

    def close(self) -> None:
        with self._mutex:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            if self._apply_lock is not None and isinstance(self._apply_lock, FileApplyLock):
                self._apply_lock.release()
            if self._switch_on_close:
                # Leave the file in rollback mode so read-only opens need no -wal/-shm (see module doc).
                # Another connection still open makes this fail at once; then the file stays in WAL mode.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA busy_timeout = 0")
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    conn.execute("PRAGMA journal_mode = DELETE")
            conn.close()

    def __enter__(self) -> SqliteStateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else "writable"
        return f"SqliteStateStore({self.path or ':memory:'!r}, {mode})"

    # -- plumbing ------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StateError(f"{self._where} is closed")
        return self._conn

    def _check_writable(self, what: str) -> None:
        if self.readonly:
            raise StateError(f"{self._where} was opened read-only; cannot {what}")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            conn = self._connection()
            try:
                yield conn
            except sqlite3.Error as error:
                raise _sqlite_error(error, self._where, self.path) from error

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        self._check_writable(what)
        with self._mutex:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise _sqlite_error(error, self._where, self.path) from error
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise _sqlite_error(error, self._where, self.path) from error
                raise

    def _now(self) -> str:
        return iso_utc(self._clock.now())

    @staticmethod
    def _params(record: ResourceRecord, now: str, *extra: tuple[Any, str]) -> dict[str, Any]:
        """The row's parameters, and `extra` (value, what) encoded with them as `_extra`.

        Every JSON text of the write goes through one `encode_all`: one credential pre-check for
        the whole write instead of one per column. A value that is not JSON data is encoded again
        column by column, which raises the StateError that names it.
        """
        observed = record.observed
        values: list[Any] = [
            record.spec,
            record.content_files,
            record.outputs,
            record.dependencies,
            record.labels,
            record.lifecycle,
            record.deposed,
            record.built_from,
        ]
        values.extend(value for value, _ in extra)
        if observed is not None:
            values.append(observed)
        try:
            texts = encode_all(values)
        except (TypeError, ValueError):  # the StateError for the first bad one, in the old order
            where = f"{record.address}: "
            for value, column in (
                (record.spec, "spec"),
                (record.content_files, "content_files"),
                (observed, "observed"),
                *zip(values[2:8], _PARAM_JSON[2:], strict=True),
            ):
                if value is not None or column != "observed":
                    _encode_field(value, where + column)
            for value, what in extra:
                _encode_field(value, what)
            raise
        return {
            "address": record.address,
            "kind": record.kind,
            "name": record.name,
            "provider": record.provider,
            "provider_type": record.provider_type,
            "remote_id": record.remote_id,
            "spec": texts[0],
            "spec_hash": record.spec_hash,
            "content_digest": record.content_digest,
            "content_files": texts[1],
            "status": record.status,
            "observed": None if observed is None else texts[-1],
            "outputs": texts[2],
            "dependencies": texts[3],
            "labels": texts[4],
            "lifecycle": texts[5],
            "created_at": record.created_at,
            "observed_at": record.observed_at,
            "deposed": texts[6],
            "built_from": texts[7],
            "now": now,
            **({"_extra": texts[8 : 8 + len(extra)]} if extra else {}),
        }

    @staticmethod
    def _upsert(conn: sqlite3.Connection, params: dict[str, Any]) -> bool:
        """True when the row was inserted or meaningfully changed."""
        if conn.execute(_UPSERT, params).rowcount:
            return True
        conn.execute(_TOUCH, params)
        return False

    # -- StateStore: reads ---------------------------------------------------------------------

    def meta(self) -> StateMeta:
        with self._reading() as conn:
            row = conn.execute("SELECT lineage, serial, schema_version FROM meta WHERE id = 1").fetchone()
        if row is None:
            raise StateError(
                f"{self._where} has no meta row; it is damaged — restore it or remove it and refresh"
            )
        return StateMeta(lineage=row[0], serial=row[1], schema_version=row[2])

    def _select_columns(self, conn: sqlite3.Connection) -> str:
        """The resource columns to read; a read-only open of an older schema lacks newer columns."""
        cached = getattr(self, "_columns", None)
        if cached is None:
            present = {row[1] for row in conn.execute("PRAGMA table_info(resources)")}
            cached = ", ".join(
                c if c in present or c not in _LATER_COLUMNS else _LATER_COLUMNS[c]
                for c in _RESOURCE_COLUMNS.split(", ")
            )
            self._columns = cached
        return cached

    def get(self, address: str) -> ResourceRecord | None:
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {self._select_columns(conn)} FROM resources WHERE address = ?", (address,)
            ).fetchone()
        return None if row is None else _record_from_row(row)

    def outputs_of(self, address: str) -> tuple[str | None, Any] | None:
        """`(record.remote_id, record.outputs)` of `get(address)`, reading only those two columns:
        what an apply step needs of each upstream record (a whole record, its spec, file table and
        observed object decoded, cost three to four times as much, per step)."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT remote_id, outputs FROM resources WHERE address = ?", (address,)
            ).fetchone()
        return None if row is None else (row[0], decode(row[1]))

    def all(self) -> dict[str, ResourceRecord]:
        with self._reading() as conn:
            return _read_deferred_records(
                conn.execute(f"SELECT {self._select_columns(conn)} FROM resources ORDER BY address")
            )

    def events(self, address: str | None = None, limit: int = 100) -> list[Event]:
        where, params = ("WHERE address = ?", (address, limit)) if address is not None else ("", (limit,))
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT id, ts, address, event, detail FROM "
                f"(SELECT * FROM events {where} ORDER BY id DESC LIMIT ?) ORDER BY id",
                params,
            ).fetchall()
        return [Event(id=r[0], ts=r[1], address=r[2], event=r[3], detail=decode(r[4])) for r in rows]

    def open_journal(self) -> list[JournalEntry]:
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS} FROM journal WHERE status = 'open' ORDER BY id"
            ).fetchall()
        return [_journal_from_row(row) for row in rows]

    def journal_entries(self, address: str | None = None, limit: int = 100) -> list[JournalEntry]:
        """The last `limit` journal entries, open or closed (for one address, or all), oldest first."""
        where, params = ("WHERE address = ?", (address, limit)) if address is not None else ("", (limit,))
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_JOURNAL_COLUMNS} FROM "
                f"(SELECT * FROM journal {where} ORDER BY id DESC LIMIT ?) ORDER BY id",
                params,
            ).fetchall()
        return [_journal_from_row(row) for row in rows]

    # -- StateStore: writes --------------------------------------------------------------------

    def put(
        self,
        record: ResourceRecord,
        *,
        event: str,
        detail: dict[str, Any] | None = None,
        close_journal: tuple[int, str, dict[str, Any] | None] | None = None,
    ) -> int:
        _check_address(record)
        now = self._now()
        extra: list[tuple[Any, str]] = [(detail or {}, f"{record.address}: event detail")]
        if close_journal is not None and close_journal[2] is not None:  # (None: no result)
            extra.append((close_journal[2], f"journal entry {close_journal[0]}: result"))
        params = self._params(record, now, *extra)  # the detail and the result encoded with the row
        encoded = params.pop("_extra")
        detail_json = encoded[0]
        closing = None
        if close_journal is not None:
            entry_id, status, result = close_journal
            closing = self._closing(
                entry_id, status, None, None, result_json=None if result is None else encoded[1]
            )
        with self._writing(f"record {record.address}") as conn:
            if closing is not None:
                self._close(conn, *closing)
            if not self._upsert(conn, params):
                return int(conn.execute(_SERIAL).fetchone()[0])
            serial = int(conn.execute(_BUMP).fetchone()[0])
            conn.execute(_EVENT, (now, record.address, event, detail_json))
            return serial

    def put_many(self, records: list[ResourceRecord], *, event: str) -> int:
        now = self._now()
        for record in records:
            _check_address(record)
        all_params = [self._params(record, now) for record in records]  # encode before locking the file
        with self._writing(f"record {len(records)} resources") as conn:
            changed = [params["address"] for params in all_params if self._upsert(conn, params)]
            if not changed:
                return int(conn.execute(_SERIAL).fetchone()[0])
            serial = int(conn.execute(_BUMP).fetchone()[0])
            conn.executemany(_EVENT, [(now, address, event, "{}") for address in changed])
            return serial

    def remove(self, address: str, *, event: str, detail: dict[str, Any] | None = None) -> int:
        now = self._now()
        detail_json = _encode_field(detail or {}, f"{address}: event detail")
        with self._writing(f"remove {address}") as conn:
            if not conn.execute("DELETE FROM resources WHERE address = ?", (address,)).rowcount:
                return int(conn.execute(_SERIAL).fetchone()[0])
            serial = int(conn.execute(_BUMP).fetchone()[0])
            conn.execute(_EVENT, (now, address, event, detail_json))
            return serial

    def move(self, old: str, new: str) -> int:
        now = self._now()
        detail_json = _encode_field({"from": old, "to": new}, f"{old}: event detail")
        with self._writing(f"move {old} to {new}") as conn:
            records = _records_from_rows(
                conn.execute(f"SELECT {self._select_columns(conn)} FROM resources").fetchall()
            )
            journal = [
                _journal_from_row(row)
                for row in conn.execute(
                    f"SELECT {_JOURNAL_COLUMNS} FROM journal WHERE status = 'open' ORDER BY id"
                ).fetchall()
            ]
            check_move(records, old, new, journal)
            writes = [self._params(r, now) for r in moved_records(records, old, new)]
            conn.execute("DELETE FROM resources WHERE address = ?", (old,))
            for params in writes:
                self._upsert(conn, params)
            serial = int(conn.execute(_BUMP).fetchone()[0])
            conn.execute(_EVENT, (now, new, "moved", detail_json))
            return serial

    def append_event(
        self, event: str, address: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        now = self._now()
        detail_json = _encode_field(detail or {}, "event detail")
        with self._writing(f"record event {event}") as conn:
            conn.execute(_EVENT, (now, address, event, detail_json))

    def journal_open(
        self,
        address: str,
        operation: str,
        provider: str,
        request: dict[str, Any],
        fingerprint: dict[str, Any],
    ) -> int:
        now = self._now()
        try:  # one credential pre-check for both (redaction.encode_all)
            request_json, fingerprint_json = encode_all((request, fingerprint))
        except (TypeError, ValueError):
            _encode_field(request, f"{address}: journal request")
            _encode_field(fingerprint, f"{address}: journal fingerprint")
            raise
        with self._writing(f"journal {operation} of {address}") as conn:
            cursor = conn.execute(
                "INSERT INTO journal (address, operation, provider, request, fingerprint, status, started_at) "
                "VALUES (?, ?, ?, ?, ?, 'open', ?)",
                (address, operation, provider, request_json, fingerprint_json, now),
            )
            return int(cursor.lastrowid or 0)

    def journal_close(
        self, entry_id: int, status: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        closing = self._closing(entry_id, status, result, error)
        with self._writing(f"close journal entry {entry_id}") as conn:
            self._close(conn, *closing)

    def _closing(
        self,
        entry_id: int,
        status: str,
        result: dict[str, Any] | None,
        error: str | None,
        *,
        result_json: str | None = None,
    ) -> tuple[int, str, str, str | None, str | None]:
        """Validate and encode a journal close (before any lock is taken); `result_json` is the
        result encoded already (`put` encodes it with the record)."""
        if status not in _CLOSED_STATUSES:
            allowed = ", ".join(s.value for s in JournalStatus if s is not JournalStatus.OPEN)
            raise StateError(
                f"journal entry {entry_id}: cannot close with status {status!r}; use one of: {allowed}"
            )
        if result is not None:
            result_json = _encode_field(result, f"journal entry {entry_id}: result")
        error_text = None if error is None else redact_text(error)
        return entry_id, str(status), self._now(), result_json, error_text

    def _close(
        self,
        conn: sqlite3.Connection,
        entry_id: int,
        status: str,
        now: str,
        result_json: str | None,
        error_text: str | None,
    ) -> None:
        updated = conn.execute(
            "UPDATE journal SET status = ?, finished_at = ?, result = ?, error = ? WHERE id = ? AND status = 'open'",
            (status, now, result_json, error_text, entry_id),
        ).rowcount
        if not updated:
            row = conn.execute("SELECT status FROM journal WHERE id = ?", (entry_id,)).fetchone()
            if row is None:
                raise StateError(f"journal entry {entry_id} does not exist in {self._where}")
            raise StateError(f"journal entry {entry_id} is already closed ({row[0]})")

    # -- StateStore: the apply lock ------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
        self._check_writable(f"take the lock for '{operation}'")
        self._connection()
        assert self._apply_lock is not None
        info = self._apply_lock.acquire(operation, timeout)
        try:
            yield info
        finally:
            self._apply_lock.release()

    def lock_info(self) -> LockInfo | None:
        return None if self._apply_lock is None else self._apply_lock.holder()

    def force_unlock(self, lock_id: str | None = None) -> LockInfo | None:
        self._check_writable("force-unlock")
        assert self._apply_lock is not None
        return self._apply_lock.force_unlock(lock_id)

    # -- moving a state (`state migrate`, state/moving.py) -------------------------------------

    def import_snapshot(self, snapshot: StateSnapshot) -> None:
        """Write a copied state into this empty one exactly: lineage, serial, records with their
        timestamps, journal entries and events with their ids."""
        rows = [self._params(r, r.updated_at or self._now()) for r in snapshot.resources.values()]
        for record in snapshot.resources.values():
            _check_address(record)
        journal = [
            (
                e.id,
                e.address,
                e.operation,
                e.provider,
                _encode_field(e.request, "request"),
                _encode_field(e.fingerprint, "fingerprint"),
                str(e.status),
                e.started_at,
                e.finished_at,
                None if e.result is None else _encode_field(e.result, "result"),
                e.error,
            )
            for e in snapshot.journal
        ]
        events = [
            (e.id, e.ts, e.address, e.event, _encode_field(e.detail, "detail")) for e in snapshot.events
        ]
        with self._writing("import a state") as conn:
            lineage, serial = conn.execute("SELECT lineage, serial FROM meta WHERE id = 1").fetchone()
            used = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM resources) OR EXISTS (SELECT 1 FROM journal) "
                "OR EXISTS (SELECT 1 FROM events)"
            ).fetchone()[0]
            if serial or used:
                raise StateError(
                    f"{self._where} already holds a state (lineage {lineage}, serial {serial}); "
                    "migrate into a new state file instead"
                )
            conn.execute(
                "UPDATE meta SET lineage = ?, serial = ? WHERE id = 1", (snapshot.lineage, snapshot.serial)
            )
            conn.executemany(
                f"INSERT INTO resources ({_RESOURCE_COLUMNS}) VALUES ("
                + ", ".join(":now" if c == "updated_at" else f":{c}" for c in _RESOURCE_COLUMNS.split(", "))
                + ")",
                rows,
            )
            conn.executemany(
                f"INSERT INTO journal ({_JOURNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", journal
            )
            conn.executemany(
                "INSERT INTO events (id, ts, address, event, detail) VALUES (?, ?, ?, ?, ?)", events
            )


def default_state_path(manifest_root: str | Path) -> Path:
    """`<root>/.reconciler/state.db`: a manifest set's state lives beside it (DESIGN.md §3)."""
    root = Path(manifest_root)
    if root.is_file():
        root = root.parent
    return root / ".reconciler" / "state.db"


__all__ = ["BUSY_TIMEOUT_S", "SqliteStateStore", "default_state_path"]
