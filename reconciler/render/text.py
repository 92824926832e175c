"""The human plan, Terraform-like: sections, one block per action, a summary line.

Wording comes from `describing`; this module only lays it out and colours it. Lines are printed
with `soft_wrap=True` so nothing is re-wrapped: the plain output is byte-stable (golden files)
and a terminal wraps long lines itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import TYPE_CHECKING

from reconciler.models.changes import ChangeClass
from reconciler.models.plans import Action, ActionType, Plan
from reconciler.render.describing import (
    action_lines,
    diagnostic_text,
    header_lines,
    heading,
    notes,
    sections,
    summary_line,
    symbol,
)
from reconciler.render.terminal import StyledLine, as_rich_plain, is_plain_stream, make_console, print_lines

if TYPE_CHECKING:
    from typing import IO

    from rich.console import Console
    from rich.text import Text

# style names used by `describing.Line` -> rich styles
STYLES: dict[str, str] = {
    "reason": "italic",
    "drift": "magenta",
    "create": "green",
    "update": "yellow",
    "replace": "red",
    "dim": "dim",
    "facts": "cyan",
    "cost": "bold yellow",
    "warning": "yellow",
    "mode": "blue",
}

ACTION_STYLES: dict[ActionType, str] = {
    ActionType.CREATE: "bold green",
    ActionType.UPDATE: "bold yellow",
    ActionType.REPLACE: "bold red",
    ActionType.DELETE: "bold red",
    ActionType.CANCEL: "bold red",
    ActionType.ADOPT: "bold cyan",
    ActionType.FORGET: "bold magenta",
    ActionType.WAIT: "bold blue",
    ActionType.NOOP: "bold",
}

SYMBOL_WIDTH = 3  # "-/+"
BODY_INDENT = " " * (2 + SYMBOL_WIDTH + 1)


def print_plan(console: Console, plan: Plan) -> None:
    """Header, drift, manifest changes, adopts, errors, then the summary line.

    All lines go to the console in one `print`: rich's per-call cost (~0.1 ms) made a 400-action
    plan take a third of a second to print, line by line. The lines go as `StyledLine`s: a plain
    console (`terminal.PlainConsole`) writes their text without importing rich.
    """
    print_lines(console, styled_lines(plan))


def write_plan(stream: IO[str], plan: Plan) -> None:
    """`print_plan` on `make_console(stream)`: plain text straight to a pipe or file, rich on a terminal.

    The plain bytes are what `print_lines` writes for a plain console (the same lines joined);
    text with a tab goes through rich, which expands tabs.
    """
    if is_plain_stream(stream):
        plain = _plain_lines(plan)
        if plain is not None:
            for start in range(0, len(plain), _WRITE_LINES):
                stream.write(as_rich_plain("\n".join(plain[start : start + _WRITE_LINES])) + "\n")
            return
    print_plan(make_console(stream), plan)


# lines per write of a plain plan: the same bytes as one write, without one string of it all
_WRITE_LINES = 2000


def _plain_lines(plan: Plan) -> list[str] | None:
    """Each line's plain text, or None when one has a tab (rich expands tabs: the caller uses it).

    Why: only the text is kept, line by line as it is made: a list of every `StyledLine` (each a
    tuple of tuples), then one string of them all, then that string plus a newline, were together
    about 20 MB at 1,000 chains, the peak of an apply's memory before anything was sent."""
    out: list[str] = []
    keep = out.append
    for line in iter_styled_lines(plan):
        text = line.plain
        if "\t" in text:
            return None
        keep(text)
    return out


def plan_lines(plan: Plan) -> list[Text]:
    return [line.to_text() for line in styled_lines(plan)]


def styled_lines(plan: Plan) -> list[StyledLine]:
    return list(iter_styled_lines(plan))


def iter_styled_lines(plan: Plan) -> Iterator[StyledLine]:
    """The plan's lines in order, made one at a time (`styled_lines` is them as a list)."""
    blank = StyledLine("")
    for i, line in enumerate(header_lines(plan)):
        yield StyledLine(line, "bold" if i == 0 else "dim")
    for title, actions in sections(plan):
        yield blank
        yield StyledLine(title + ":", "bold underline")
        for action in actions:
            yield blank
            yield from _action_lines(action)
    if plan.warnings:
        yield blank
        yield StyledLine("Warnings:", "bold yellow")
        for d in plan.warnings:
            yield StyledLine("  " + diagnostic_text(d), "yellow")
    if plan.errors:
        yield blank
        count = f"{len(plan.errors)} error" + ("s" if len(plan.errors) != 1 else "")
        yield StyledLine(f"Error: {count}; this plan cannot be applied:", "bold red")
        for d in plan.errors:
            yield StyledLine("  " + diagnostic_text(d), "red")
    yield blank
    yield StyledLine(summary_line(plan), "bold")
    for note in notes(plan):
        yield StyledLine(note)


def _action_lines(action: Action) -> Iterator[StyledLine]:
    style = ACTION_STYLES[action.action]
    head: list[tuple[str, str]] = [(symbol(action).rjust(SYMBOL_WIDTH), style), (" ", "")]
    title = heading(action)
    if action.change_class is ChangeClass.RETRAIN and action.is_change:
        tag = f" [{ChangeClass.RETRAIN.value}]"
        head.append((title.removesuffix(tag), "bold"))
        head.append((tag, "bold magenta"))  # hours of GPU time: make it stand out
    else:
        head.append((title, "bold"))
    yield StyledLine("  ", "", tuple(head))
    for line in action_lines(action):
        yield StyledLine(BODY_INDENT, "", ((line.text, STYLES.get(line.style, "")),))


def plan_to_text(plan: Plan, *, color: bool = False, width: int = 120) -> str:
    """The same output as `print_plan`, as a string (golden files, `plan --out plan.txt`)."""
    buffer = StringIO()
    console = make_console(buffer, no_color=not color)
    console.width = width
    print_plan(console, plan)
    return buffer.getvalue()
