"""Manifests that were lost are not manifests that were removed: do not prune for them.

Removing a manifest plans the deletion of its resources (DESIGN.md §4). That is also what a
manifest set that silently lost its files looks like — a folder whose files were renamed to
`.YAML`, a checkout that failed halfway — and then the plan would delete everything the state
holds. Two guards, applied to the plan by the workspace (the planner stays pure and unaware):

- `near_miss_warnings`: files the loader's walk passed but did not read that look meant to be
  manifests (`money-rain.YAML`, `jobs.Yml`, `ft.yaml.txt`) become warnings that name them.
- `refuse_empty_prune`: a plan that would remove every resource in the state because the
  manifests declare none (only Providers, or nothing) is an error, unless `--allow-empty`.
  A plan with an error cannot be applied, so a plan saved that way is refused too.

This module reads directory listings (only in `skipped_files`; plans reuse the loader's walk)
and never a file's contents; it writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reconciler.loading import display_path
from reconciler.loading.discovering import ManifestWalk, NearMiss, near_miss_suffix
from reconciler.models.diagnostics import Diagnostic, Severity, SourceLocation
from reconciler.models.plans import ActionType, Plan
from reconciler.models.resources import ManifestSet

_REMOVALS = (ActionType.DELETE, ActionType.CANCEL, ActionType.FORGET)


def near_miss_warnings(near_misses: Iterable[NearMiss]) -> list[Diagnostic]:
    """A warning per near-miss file the loader's walk passed (`LoadResult.near_misses`)."""
    out: list[Diagnostic] = []
    for miss in near_misses:
        name = miss.shown.rsplit("/", 1)[-1]
        proper = name[: -len(miss.suffix)] + miss.suffix.lower().removesuffix(".txt")
        out.append(
            Diagnostic(
                f"not read: only files ending in .yaml or .yml (lower case) are manifests; "
                f"if it is one, rename it to {proper}",
                location=SourceLocation(miss.shown, 1, 1),
                severity=Severity.WARNING,
            )
        )
    return out


def skipped_files(paths: Iterable[Path], cwd: Path | None = None) -> list[Diagnostic]:
    """A warning per near-miss file in the directories given with -f, walked as the loader walks them.

    A file given by name is read whatever its ending, so only directories are searched. Without
    the manifests parsed no dataset folder is known, so this walks them too; the loader's own
    walk (`LoadResult.near_misses`) does not, and is what plans use.
    """
    walk = ManifestWalk(paths, str(cwd if cwd is not None else Path.cwd()), [])
    for _ in walk:
        pass
    return near_miss_warnings(walk.near_misses())


def refuse_empty_prune(
    plan: Plan, manifests: ManifestSet, skipped: list[Diagnostic], where: str, *, allow_empty: bool
) -> Diagnostic | None:
    """The error for a plan that removes everything the state holds because nothing is declared.

    "Empty" means no resource besides Providers; Providers alone manage nothing.
    """
    if allow_empty or plan.operation != "apply" or manifests.resources:
        return None
    removals = {a.address: a.action for a in plan.actions if a.action in _REMOVALS}
    if not removals:
        return None
    forgotten = sum(1 for action in removals.values() if action is ActionType.FORGET)
    deleted = len(removals) - forgotten
    what = " and ".join(
        f"{verb} {n if n < len(removals) else 'all ' + str(n)}"
        for verb, n in (("delete", deleted), ("forget", forgotten))
        if n
    )
    lost = ""
    if skipped:
        lost = " (not read: " + ", ".join(d.location.file for d in skipped if d.location) + ")"
    return Diagnostic(
        f"{where}: the manifests declare no resources (only Providers), but the state holds {len(removals)}, "
        f"so this plan would {what}. Refusing, in case manifests were lost rather than removed{lost}: "
        "restore them; to delete everything, run 'reconciler destroy', or plan again with --allow-empty"
    )


def guard_prunes(
    plan: Plan,
    manifests: ManifestSet,
    paths: Iterable[Path],
    near_misses: Iterable[NearMiss],
    *,
    allow_empty: bool,
) -> Plan:
    """Add both guards' diagnostics to `plan` (in place) and return it."""
    paths = list(paths)
    skipped = near_miss_warnings(near_misses)
    plan.warnings.extend(d.to_dict() for d in skipped)
    where = ", ".join(display_path(p) for p in paths)
    refusal = refuse_empty_prune(plan, manifests, skipped, where, allow_empty=allow_empty)
    if refusal is not None:
        plan.errors.append(refusal.to_dict())
    return plan


__all__ = ["guard_prunes", "near_miss_suffix", "near_miss_warnings", "refuse_empty_prune", "skipped_files"]
