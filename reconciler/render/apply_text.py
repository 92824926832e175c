"""What an apply did, resource by resource: succeeded, failed (with why), skipped, deferred.

Reads the engine's `ApplyResult` by shape (`outcomes`, `interrupted`), not by import: render and
engine are sibling layers and do not import each other (`.importlinter`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from reconciler.models.envelope import format_duration
from reconciler.models.plans import ActionType, Plan
from reconciler.render.describing import plural
from reconciler.render.terminal import StyledLine, print_lines

if TYPE_CHECKING:  # the lines are `StyledLine`s: a plain console writes them without rich
    from rich.console import Console


class OutcomeLike(Protocol):
    # read-only members, so the engine's dataclass (whose `outcome` is a StrEnum) fits by shape
    @property
    def address(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def remote_id(self) -> str | None: ...
    @property
    def elapsed(self) -> float: ...


class ApplyResultLike(Protocol):
    @property
    def outcomes(self) -> Mapping[str, OutcomeLike]: ...
    @property
    def interrupted(self) -> bool: ...


# (outcome value, heading, style) in display order
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("succeeded", "Succeeded", "green"),
    ("submitted", "Submitted, not waited for (--no-wait): the next apply continues", "cyan"),
    ("deferred", "Deferred: waiting on a dependency that is not ready; the next apply continues", "cyan"),
    ("failed", "Failed", "bold red"),
    ("skipped", "Skipped", "yellow"),
)


def print_apply_result(console: Console, result: ApplyResultLike, plan: Plan | None = None) -> None:
    """`plan` (the one applied) adds why each forgotten resource was only forgotten."""
    why_forgotten = (
        {a.address: a.reason for a in plan.actions if a.action is ActionType.FORGET} if plan else {}
    )
    by_outcome: dict[str, list[OutcomeLike]] = {}
    for o in result.outcomes.values():
        by_outcome.setdefault(str(o.outcome), []).append(o)
    lines: list[StyledLine] = []
    for value, title, style in GROUPS:
        items = by_outcome.get(value, [])
        if not items:
            continue
        lines.append(StyledLine(""))
        lines.append(StyledLine(f"{title} ({len(items)}):", f"bold {style}".strip()))
        for o in items:
            line = outcome_line(o)
            if value == "succeeded" and o.action == ActionType.FORGET.value and why_forgotten.get(o.address):
                line += f": {why_forgotten[o.address]}"
            lines.append(StyledLine("  " + line, style if value == "failed" else ""))
    lines.append(StyledLine(""))
    if result.interrupted:
        lines.append(
            StyledLine(
                "Interrupted: resources not started were skipped; the state is consistent. "
                "Run apply again to continue.",
                "bold yellow",
            )
        )
    lines.append(StyledLine(counts_line(result), "bold green" if _ok(result) else "bold red"))
    print_lines(console, lines)


def outcome_line(o: OutcomeLike) -> str:
    """`  + FineTune/money-rain  create  ft-123  (5h27m)` (and `: why` unless it succeeded)."""
    try:
        sym = ActionType(o.action).symbol.strip() or "·"
    except ValueError:
        sym = "·"
    return f"{sym.rjust(3)} {o.address}  {o.action}" + outcome_detail(o)


def outcome_detail(o: OutcomeLike) -> str:
    text = ""
    if o.remote_id:
        text += f"  {o.remote_id}"
    if o.elapsed and str(o.outcome) != "skipped":
        text += f"  ({format_duration(o.elapsed)})"
    if o.message and str(o.outcome) != "succeeded":
        text += f": {o.message}"
    return text


def counts_line(result: ApplyResultLike) -> str:
    counts: dict[str, int] = {}
    for o in result.outcomes.values():
        counts[str(o.outcome)] = counts.get(str(o.outcome), 0) + 1
    parts = [f"{counts.get(v, 0)} {v}" for v in ("succeeded", "failed", "skipped")]
    parts += [f"{counts[v]} {v}" for v in ("submitted", "deferred") if counts.get(v)]
    verb = "Apply complete" if _ok(result) else "Apply interrupted" if result.interrupted else "Apply failed"
    if not result.outcomes:
        return f"{verb}: nothing to do."
    return f"{verb}: " + ", ".join(parts) + f" ({plural(len(result.outcomes), 'resource')})."


def _ok(result: ApplyResultLike) -> bool:
    return not result.interrupted and not any(str(o.outcome) == "failed" for o in result.outcomes.values())
