"""Copying a state from one store to another (`reconciler state migrate`): SQLite ⇄ PostgreSQL.

A copy is exact: the lineage and serial (so a plan saved against the old state still applies to
the new one, and nothing else does), every record with its timestamps, the journal (open rows
included: an interrupted run resumes from the copy) and the events, with their ids. The copy is
read back and compared with the source before it is declared good. The source is only read.

The caller holds both stores' apply locks (nobody may write either while it is copied), and the
destination must be empty: a copy never merges into, or overwrites, another state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from reconciler.models.state import Event, JournalEntry, StateSnapshot
from reconciler.state.interface import StateError, StateStore

EVERYTHING = 2**62  # a `limit` no state reaches


class CopyableStateStore(StateStore, Protocol):
    """What both stores offer beyond the engine's interface, for moving a state."""

    def journal_entries(self, address: str | None = None, limit: int = 100) -> list[JournalEntry]: ...

    def import_snapshot(self, snapshot: StateSnapshot) -> None: ...


def export_snapshot(store: CopyableStateStore) -> StateSnapshot:
    meta = store.meta()
    return StateSnapshot(
        lineage=meta.lineage,
        serial=meta.serial,
        resources=store.all(),
        journal=store.journal_entries(limit=EVERYTHING),
        events=store.events(limit=EVERYTHING),
    )


def difference(expected: StateSnapshot, found: StateSnapshot) -> str:
    """The first way two snapshots differ, in words (for the verification error)."""
    if (expected.lineage, expected.serial) != (found.lineage, found.serial):
        return (
            f"lineage/serial {found.lineage}/{found.serial} instead of {expected.lineage}/{expected.serial}"
        )
    if expected.resources.keys() != found.resources.keys():
        missing = sorted(expected.resources.keys() - found.resources.keys())
        extra = sorted(found.resources.keys() - expected.resources.keys())
        return f"resources missing {missing[:5]}, unexpected {extra[:5]}"
    for address, record in expected.resources.items():
        if found.resources[address] != record:
            return f"{address} differs"
    return (
        _rows_difference("journal", expected.journal, found.journal)
        or _rows_difference("events", expected.events, found.events)
        or "no difference"
    )


def _rows_difference(
    what: str, want: Sequence[JournalEntry | Event], got: Sequence[JournalEntry | Event]
) -> str:
    if len(want) != len(got):
        return f"{len(got)} {what} rows instead of {len(want)}"
    for a, b in zip(want, got, strict=True):
        if a != b:
            return f"{what} row {a.id} differs"
    return ""


def copy_state(source: CopyableStateStore, destination: CopyableStateStore) -> StateSnapshot:
    """Copy everything `source` holds into the empty `destination`, verify it, and return what was copied."""
    snapshot = export_snapshot(source)
    destination.import_snapshot(snapshot)
    copied = export_snapshot(destination)
    if copied != snapshot:
        raise StateError(
            f"the copy in {destination.path} does not match the source ({difference(snapshot, copied)}); "
            f"the source {source.path} is unchanged and still the state to use. Remove the copy and retry"
        )
    return snapshot


__all__ = ["CopyableStateStore", "copy_state", "difference", "export_snapshot"]
