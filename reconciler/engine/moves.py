"""Renames without a rebuild: `metadata.moved_from` (after Terraform's `moved` blocks). Pure.

A resource declared as `FineTune/rain-v2` with `metadata.moved_from: money-rain` is the object the
state knows as `FineTune/money-rain`: the plan moves that record instead of training a new job and
deleting the old one. Before anything is refreshed or planned, `plan_moves` gives the state *as it
will be after the moves* (the records renamed, their lineage re-pointed, exactly as the store's
`move` writes it), so refresh observes the object under its new address, fingerprint discovery
never adopts it a second time, and the planner diffs the renamed resource against its own record.

Dependents that now name the new address (`fine_tune: rain-v2`) still hold the old name in their
applied spec. Lineage settles it: when a dependent's `built_from` for the new address is the very
object that address holds, the reference names the same object under another name — a change of
class `local` (recorded in state, no provider call), never a retrain or redeploy.

Rules (errors name the `file:line` of `metadata.moved_from`):
- a `moved_from` naming nothing in state is ignored, with a note (its move already happened, or the
  state never had it) — as Terraform ignores a `moved` block whose source is absent;
- a chain (`c` moved from `b`, `b` moved from `a`) is refused: move from the first name directly;
- a conflict — both the old and the new address in state, the old name still declared, or two
  resources moving from one name — is refused: the plan cannot know which object to keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.models.changes import ChangeClass
from reconciler.models.diagnostics import Diagnostic, Severity
from reconciler.models.kinds import address as make_address
from reconciler.models.plans import Action, ActionType, FieldChange, Plan
from reconciler.models.resources import ManifestSet, Resource
from reconciler.models.state import ResourceRecord
from reconciler.state.interface import StateStore
from reconciler.state.renaming import moved_records

FIELD = "metadata.moved_from"


@dataclass
class Moves:
    records: dict[str, ResourceRecord]  # the state as it will be once the moves are applied
    moved: dict[str, str] = field(default_factory=dict)  # new address -> old address
    diagnostics: list[Diagnostic] = field(default_factory=list)  # errors and notes


def plan_moves(manifests: ManifestSet, records: Mapping[str, ResourceRecord]) -> Moves:
    out = Moves(records=dict(records))
    declared = [r for r in manifests if r.moved_from]
    if not declared:
        return out
    sources: dict[str, list[Resource]] = {}
    for r in declared:
        sources.setdefault(make_address(r.kind, r.moved_from or ""), []).append(r)
    for r in declared:
        old = make_address(r.kind, r.moved_from or "")
        error = _refusal(r, old, manifests, records, sources)
        if error:
            out.diagnostics.append(_diagnostic(r, error))
            continue
        if old not in records:
            note = (
                f"{old} is not in state: nothing to move (already moved, or never applied); "
                f"remove {FIELD} once every state has moved"
            )
            out.diagnostics.append(_diagnostic(r, note, Severity.WARNING))
            continue
        for record in moved_records(out.records, old, r.address):
            out.records[record.address] = record
        del out.records[old]
        out.moved[r.address] = old
    return out


def _refusal(
    r: Resource,
    old: str,
    manifests: ManifestSet,
    records: Mapping[str, ResourceRecord],
    sources: Mapping[str, list[Resource]],
) -> str | None:
    if old == r.address:
        return f"names this resource itself ({r.moved_from}); remove {FIELD}"
    before = manifests.resources.get(old)
    if before is not None and before.moved_from:
        first = make_address(before.kind, before.moved_from)
        return (
            f"is a chain of moves ({first} → {old} → {r.address}); move from the first name directly "
            f"({FIELD}: {before.moved_from}) and remove {FIELD} from {old}"
        )
    for later in sources.get(r.address, []):
        return (
            f"is a chain of moves ({old} → {r.address} → {later.address}); move {later.address} "
            f"from {old} directly and remove {FIELD} here"
        )
    if before is not None:
        where = f" ({before.location})" if before.location else ""
        return (
            f"conflicts: {old} is still declared{where}; a rename removes the old declaration, "
            f"or drop {FIELD} to keep both"
        )
    rivals = [s.address for s in sources.get(old, []) if s.address != r.address]
    if rivals:
        return f"conflicts: {', '.join(rivals)} also moves from {old}; only one resource can take its object"
    if old in records and r.address in records:
        return (
            f"conflicts: both {old} and {r.address} are in state, so it cannot tell which object to "
            f"keep; drop with 'reconciler state rm {old}' the record to forget (its object stays on the "
            f"provider), or remove {FIELD}"
        )
    return None


def _diagnostic(r: Resource, message: str, severity: Severity = Severity.ERROR) -> Diagnostic:
    return Diagnostic(
        message, location=r.location_of(FIELD), address=r.address, field=FIELD, severity=severity
    )


def renamed_references(
    r: Resource, record: ResourceRecord, records: Mapping[str, ResourceRecord], changes: list[FieldChange]
) -> list[FieldChange]:
    """`changes` with each reference that names the same object under a new name made `local`.

    Same object means: the applied spec named `before`, which is no longer in state, and this
    record was built from exactly the object the new address holds (lineage, by remote id).
    """
    fields = {path.split("[", 1)[0]: kind for path, kind, _ in r.spec.references()}
    out = []
    for c in changes:
        kind = fields.get(c.path.split("[", 1)[0])
        if kind is not None and _same_object(kind.value, c.before, c.after, record, records):
            c = c.model_copy(update={"change_class": ChangeClass.LOCAL})
        out.append(c)
    return out


def _same_object(
    kind: str, before: object, after: object, record: ResourceRecord, records: Mapping[str, ResourceRecord]
) -> bool:
    if isinstance(before, list) and isinstance(after, list):
        return len(before) == len(after) and all(
            b == a or _same_object(kind, b, a, record, records) for b, a in zip(before, after, strict=True)
        )
    if not isinstance(before, str) or not isinstance(after, str) or before == after:
        return False
    old, new = f"{kind}/{before}", f"{kind}/{after}"
    upstream = records.get(new)
    return (
        old not in records
        and upstream is not None
        and upstream.remote_id is not None
        and record.built_from.get(new) == upstream.remote_id
    )


def mark_moved(actions: Mapping[str, Action], moved: Mapping[str, str]) -> None:
    """Each moved resource's action carries its move (apply performs it first) and says so."""
    for new, old in moved.items():
        action = actions.get(new)
        if action is None:
            continue
        action.moved_from = old
        if action.action is ActionType.NOOP:
            action.action = ActionType.UPDATE
            action.change_class = ChangeClass.LOCAL
            action.reason = f"moved from {old}: the same object, recorded in state, no provider call"
        else:
            action.reason = f"moved from {old}; {action.reason}"


def reference_note(action: Action, renamed: list[FieldChange]) -> None:
    """A dependent whose only changes are renamed references says so, instead of "local fields only"."""
    if action.action is ActionType.UPDATE and action.change_class is ChangeClass.LOCAL and renamed:
        paths = ", ".join(f"{c.path} {c.before!r} → {c.after!r}" for c in renamed)
        action.reason = f"{paths}: the same object under its new name; recorded in state, no provider call"


def perform_moves(store: StateStore, plan: Plan) -> None:
    """Apply's first step: each move the plan carries, one committed transaction each (idempotent:
    a move already made by an interrupted run is skipped)."""
    for a in plan.actions:
        if a.moved_from and store.get(a.address) is None and store.get(a.moved_from) is not None:
            store.move(a.moved_from, a.address)


__all__ = ["Moves", "mark_moved", "perform_moves", "plan_moves", "reference_note", "renamed_references"]
