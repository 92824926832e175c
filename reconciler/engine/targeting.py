"""`--target` and `--replace` (Terraform's `-target`, `-replace`): which addresses a run may touch. Pure.

`--target ADDRESS` limits a plan to that resource and everything it depends on (its upstreams),
as Terraform does, with Terraform's warning that the plan is partial. One thing is added beyond
Terraform, for the invariant that no dependent is ever left built from a deleted upstream: when a
kept action replaces an object, the dependents lineage forces to be rebuilt (a deployment of a
retrained job) come along, each with a warning saying why. Removals likewise bring the removals
of their dependents, which must go first.

`--replace ADDRESS` forces the replacement of a resource whose manifest did not change (the planner
does it, reason "replacement requested"); this module only checks the addresses.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from reconciler.models.diagnostics import Diagnostic, Severity
from reconciler.models.plans import Action, ActionType

TARGET_WARNING = (
    "Resource targeting is in effect: this plan covers only {targets} and what they depend on, so it "
    "may not show every change the manifests ask for. --target is not for routine use: it is for "
    "recovering from errors or mistakes; run a plan without it afterwards."
)
APPLIED_WARNING = (
    "Applied changes may be incomplete: the plan was limited with --target, so other changes the "
    "manifests ask for may not have been made. Run 'reconciler plan' without --target to check."
)

_REMOVALS = (ActionType.DELETE, ActionType.CANCEL, ActionType.FORGET)
_NEW_OBJECT = (ActionType.CREATE, ActionType.REPLACE)


def unknown_addresses(flag: str, requested: Iterable[str], known: Iterable[str]) -> list[str]:
    """One message per requested address that names nothing, with the nearest known addresses."""
    choices = sorted(set(known))
    out = []
    for address in requested:
        if address in choices:
            continue
        near = difflib.get_close_matches(address, choices, n=3, cutoff=0.5)
        if not near:  # the name alone may be right with the kind mistyped, or the other way round
            name = address.rpartition("/")[2]
            near = [c for c in choices if c.rpartition("/")[2] == name][:3]
        if "/" not in address:
            what = "is not an address (addresses are Kind/name, e.g. FineTune/money-rain)"
        else:
            what = "is not declared in the manifests or recorded in the state"
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        listing = "" if near else f"; known: {', '.join(choices[:8])}" + (" …" if len(choices) > 8 else "")
        out.append(f"{flag} {address}: {what}{hint}{listing if choices else ''}")
    return out


def limit_to_targets(actions: list[Action], targets: frozenset[str]) -> tuple[list[Action], list[Diagnostic]]:
    """The actions a targeted run keeps (plan order preserved), and the warnings that say so."""
    by_address: dict[str, list[Action]] = {}
    for a in actions:
        by_address.setdefault(a.address, []).append(a)
    keep: set[str] = set()
    stack = [t for t in targets if t in by_address]
    while stack:  # the targets and everything they depend on
        address = stack.pop()
        if address in keep:
            continue
        keep.add(address)
        for a in by_address[address]:
            stack.extend(d for d in a.depends_on if d in by_address and d != address)
    notes: list[Diagnostic] = []
    added = True
    while added:  # dependents that lineage forces along (rebuilt, or removed first)
        added = False
        for a in actions:
            if a.address in keep or not a.is_change:
                continue
            why = _forced_along(a, {d: by_address[d] for d in a.depends_on if d in keep})
            if why:
                keep.add(a.address)
                added = True
                notes.append(
                    Diagnostic(
                        f"included although not targeted: {why}",
                        address=a.address,
                        severity=Severity.WARNING,
                    )
                )
    shown = ", ".join(sorted(targets))
    warning = Diagnostic(TARGET_WARNING.format(targets=shown), severity=Severity.WARNING)
    return [a for a in actions if a.address in keep], [warning, *notes]


def _forced_along(a: Action, kept_upstreams: dict[str, list[Action]]) -> str | None:
    for upstream, ups in kept_upstreams.items():
        for up in ups:
            if a.action is ActionType.REPLACE and up.action in _NEW_OBJECT and up.is_change:
                return f"it is built from {upstream}, which this plan {'replaces' if up.action is ActionType.REPLACE else 'creates'}"
            if a.action in _REMOVALS and up.action in _REMOVALS:
                return f"it depends on {upstream}, which this plan removes: it must go first"
    return None


__all__ = ["APPLIED_WARNING", "TARGET_WARNING", "limit_to_targets", "unknown_addresses"]
