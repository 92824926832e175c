"""Moving a record to a new address (`reconciler state mv`, `metadata.moved_from`): pure, shared
by both stores so SQLite and PostgreSQL agree on what a move rewrites.

A move renames one resource and keeps its provider object: the record itself goes to the new
address, and every record that points at the old address through lineage (`dependencies`,
`built_from`) points at the new one, so a dependent still knows which object it was built from.
The applied `spec` of dependents is left as it was applied (it still names the old resource);
the planner recognises a renamed reference by lineage and records it without a provider call.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.models.state import JournalEntry, ResourceRecord
from reconciler.state.interface import StateError


def check_move(
    records: dict[str, ResourceRecord], old: str, new: str, open_journal: list[JournalEntry]
) -> ResourceRecord:
    """The record to move, or a StateError saying why the move is refused (nothing written)."""
    old_kind, _, old_name = old.partition("/")
    new_kind, _, new_name = new.partition("/")
    if not old_name or not new_name:
        bad = old if not old_name else new
        raise StateError(f"{bad!r} is not an address; addresses are Kind/name, e.g. FineTune/money-rain")
    record = records.get(old)
    if record is None:
        raise StateError(f"{old} is not in state (see 'reconciler state list')")
    if new_kind != old_kind:
        raise StateError(
            f"cannot move {old} to {new}: the kinds differ ({old_kind} vs {new_kind}); "
            f"a move keeps the object, so use {old_kind}/{new_name}"
        )
    if old == new:
        raise StateError(f"{old} and {new} are the same address; nothing to move")
    if new in records:
        raise StateError(
            f"cannot move {old} to {new}: {new} is already in state; "
            f"remove it first ('reconciler state rm {new}') if it should go"
        )
    held = [e for e in open_journal if e.address == old]
    if held:
        raise StateError(
            f"cannot move {old}: a {held[0].operation} call (journal entry {held[0].id}) is still open; "
            "run 'reconciler apply' or 'reconciler refresh' to settle it first"
        )
    return record


def moved_records(records: dict[str, ResourceRecord], old: str, new: str) -> list[ResourceRecord]:
    """What to write for a move: the record at its new address, and each record whose lineage changed."""
    new_name = new.partition("/")[2]
    out: list[ResourceRecord] = []
    for address, record in records.items():
        if address == old:
            out.append(
                replace(
                    record,
                    address=new,
                    name=new_name,
                    deposed=[_renamed_deposed(d, new, new_name) for d in record.deposed],
                    dependencies=[new if d == old else d for d in record.dependencies],
                    built_from=_renamed_keys(record.built_from, old, new),
                )
            )
        elif old in record.dependencies or old in record.built_from:
            out.append(
                replace(
                    record,
                    dependencies=[new if d == old else d for d in record.dependencies],
                    built_from=_renamed_keys(record.built_from, old, new),
                )
            )
    return out


def _renamed_keys(built_from: dict[str, str], old: str, new: str) -> dict[str, str]:
    return {new if k == old else k: v for k, v in built_from.items()}


def _renamed_deposed(old_record: dict[str, Any], new: str, new_name: str) -> dict[str, Any]:
    return {**old_record, "address": new, "name": new_name}


__all__ = ["check_move", "moved_records"]
