"""The state store as the engine sees it: a Protocol and its errors, nothing concrete.

The engine imports only this module (import-linter forbids it `reconciler.state.sqlite` and
`reconciler.state.postgres`), so it must not import sqlite3, sqlite-utils, psycopg or any
implementation. `reconciler.wiring.open_store` opens a concrete store (`SqliteStateStore` for a
file, `PostgresStateStore` for a `postgresql://` URL and workspace) and the workspace hands it to
the engine. `tests/state/test_state_conformance.py` runs one suite against both.

Semantics every implementation keeps (DESIGN.md §3):

- `serial` grows by one with every write that changes a resource (`put` that changes something,
  `put_many` once per call, `remove`); journal rows and events do not move it. A `put` whose record
  equals the stored one (ignoring `created_at`/`updated_at`) writes nothing and returns the
  current serial, so a refresh that finds nothing new does not invalidate saved plans.
- Every write is one short transaction, committed before the call returns.
- A store opened `readonly` never writes: its writes raise `StateError`, and the state file is
  left byte-for-byte unchanged.
- Values that look like credentials (keys named like `api_key`, `authorization`,
  `access_key_secret`, …; `Bearer …` strings) are replaced by `"[redacted]"` before anything is
  persisted: the store never holds secrets even if a caller slips.
- Methods are safe to call from several threads.

Exceptions:

    StateError             the state cannot be read or written as asked (message says what to do)
    └── LockedError        the apply lock is held by someone else (`.info` names them)
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from reconciler.models.state import Event, JournalEntry, LockInfo, ResourceRecord, StateMeta

__all__ = ["LockedError", "StateError", "StateStore"]


class StateError(Exception):
    """The state cannot be read or written as asked. `str()` is a user-facing message."""


class LockedError(StateError):
    """`remedy` is what the refused should do; a store whose lock dies with its holder says so."""

    def __init__(self, info: LockInfo, path: str | None = None, remedy: str | None = None) -> None:
        self.info = info
        self.path = path
        self.remedy = remedy
        advice = remedy or (
            f"Wait, retry with --lock-timeout, or run 'reconciler force-unlock {info.lock_id}' "
            "if that process is gone."
        )
        super().__init__(
            f"state is locked by {info.owner} (pid {info.pid} on {info.host}), running "
            f"'{info.operation}' since {info.started_at}; lock id {info.lock_id}. {advice}"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across processes
        return (LockedError, (self.info, self.path, self.remedy))


@runtime_checkable
class StateStore(Protocol):
    @property
    def path(self) -> str | None: ...  # shown in messages (a file path, or a URL with no password)

    readonly: bool

    def meta(self) -> StateMeta: ...

    def get(self, address: str) -> ResourceRecord | None: ...

    def all(self) -> dict[str, ResourceRecord]: ...

    def put(
        self,
        record: ResourceRecord,
        *,
        event: str,
        detail: dict[str, Any] | None = None,
        close_journal: tuple[int, str, dict[str, Any] | None] | None = None,
    ) -> int:
        """Insert or replace the record at `record.address`; returns the serial after the write.

        `close_journal=(entry_id, status, result)` closes that journal row in the same transaction:
        a create's outcome and the record that holds it are committed together, so a kill can never
        leave a row closed `done` whose object the state does not know (DESIGN.md §3b).
        """
        ...

    def put_many(self, records: list[ResourceRecord], *, event: str) -> int:
        """Like `put` for each record, in one transaction and one serial bump (if anything changed)."""
        ...

    def remove(self, address: str, *, event: str, detail: dict[str, Any] | None = None) -> int:
        """Forget a resource; returns the serial after the write. Removing an unknown address is a no-op."""
        ...

    def move(self, old: str, new: str) -> int:
        """Move the record at `old` to `new` (same kind; `new` must be free), with its provider object,
        and point every other record's lineage (`dependencies`, `built_from`) at `new`: one transaction,
        one serial bump, a `moved` event. Refused (StateError, nothing written) when `old` is not in
        state, the kinds differ, `new` exists, or a journal row for `old` is open."""
        ...

    def journal_open(
        self,
        address: str,
        operation: str,
        provider: str,
        request: dict[str, Any],
        fingerprint: dict[str, Any],
    ) -> int:
        """Record (and commit) a provider call about to be sent; returns the entry id."""
        ...

    def journal_close(
        self, entry_id: int, status: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """Close an open entry as done | failed | resolved."""
        ...

    def open_journal(self) -> list[JournalEntry]:
        """Entries still open (a crash or an ambiguous outcome), oldest first."""
        ...

    def events(self, address: str | None = None, limit: int = 100) -> list[Event]:
        """The last `limit` events (for one address, or all), oldest first."""
        ...

    def append_event(
        self, event: str, address: str | None = None, detail: dict[str, Any] | None = None
    ) -> None: ...

    def lock(self, operation: str, timeout: float = 0.0) -> AbstractContextManager[LockInfo]:
        """Hold the apply lock for the `with` block; raises LockedError after `timeout` seconds."""
        ...

    def lock_info(self) -> LockInfo | None:
        """The current holder, or None when nobody holds the lock."""
        ...

    def force_unlock(self, lock_id: str | None = None) -> LockInfo | None:
        """Clear a lock left by a process that is gone; returns what was cleared (None if nothing)."""
        ...

    def close(self) -> None: ...
