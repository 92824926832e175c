"""The plan as a pull-request comment: summary table first, details collapsible, size-bounded.

Code hosts cap comment size (GitHub: 65,536 characters), so the output never exceeds `limit`:
the summary and errors always fit; the table of changes and then the per-resource details are
cut when the budget runs out, with a note saying how many were left out.
"""

from __future__ import annotations

import html
import re

from reconciler.models.plans import Action, ActionType, Plan
from reconciler.render.describing import (
    ACTION_ORDER,
    action_lines,
    cause_line,
    diagnostic_text,
    heading,
    notes,
    plural,
    sections,
    summary_line,
    symbol,
)

DEFAULT_LIMIT = 60_000
_RESERVE = 600  # room kept for the "left out" notes and the closing line


def plan_to_markdown(plan: Plan, limit: int = DEFAULT_LIMIT) -> str:
    head = _head(plan)
    ordered = [a for _, actions in sections(plan) for a in actions]
    budget = limit - _RESERVE
    parts = [head]
    size = len(head)
    if size > budget:  # only errors can make the head this long
        head = (
            head[: max(budget - 80, 0)].rsplit("\n", 1)[0]
            + "\n\n_(errors cut to fit the comment size limit)_\n"
        )
        parts, size = [head], len(head)

    table_rows = 0
    if ordered:
        table_head = "\n#### Changes\n\n| | Resource | Action | Class | Reason |\n|---|---|---|---|---|\n"
        if size + len(table_head) <= budget:
            parts.append(table_head)
            size += len(table_head)
            for a in ordered:
                row = _row(a)
                if size + len(row) > budget:
                    break
                parts.append(row)
                size += len(row)
                table_rows += 1

    detailed = 0
    if ordered and table_rows:
        details_head = "\n#### Details\n\n"
        if size + len(details_head) <= budget:
            parts.append(details_head)
            size += len(details_head)
            for a in ordered[:table_rows]:
                block = _details(a)
                if size + len(block) > budget:
                    break
                parts.append(block)
                size += len(block)
                detailed += 1
            if not detailed:
                parts.pop()

    left_out = []
    if table_rows < len(ordered):
        left_out.append(f"{plural(len(ordered) - table_rows, 'resource')} not listed in the table")
    if detailed < len(ordered):
        left_out.append(f"details of {plural(len(ordered) - detailed, 'resource')} omitted")
    if left_out:
        parts.append(
            f"\n> [!NOTE]\n> Comment size limit ({limit:,} characters): {'; '.join(left_out)}. "
            "Run `reconciler plan` or read the JSON plan (`reconciler plan --json`) for all of it.\n"
        )
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "\n"


def comment_marker(plan: Plan) -> str:
    """The first line of every comment for this environment: CI finds and updates it (sticky)."""
    return f"<!-- reconciler:plan env={plan.environment or 'default'} -->"


def _head(plan: Plan) -> str:
    """Marker, title, then what must be read first: errors, warnings; then the summary."""
    s = plan.summary()
    title = "### Reconciler plan" + (f" · `{_code(plan.environment)}`" if plan.environment else "")
    if plan.operation == "destroy":
        title += " (destroy)"
    if plan.mode == "refresh-only":
        title += " (refresh-only: drift)"
    lines = [comment_marker(plan), title, ""]
    if plan.errors:
        lines += [
            f"> [!CAUTION]\n> **{plural(len(plan.errors), 'error')}: this plan cannot be applied.**",
        ]
        lines += [f"> - `{_code(diagnostic_text(d))}`" for d in plan.errors]
        lines.append("")
    if plan.warnings:
        lines += ["> [!WARNING]"] + [f"> - {_cell(diagnostic_text(d))}" for d in plan.warnings]
        lines.append("")
    lines += [f"**{_cell(summary_line(plan))}**", ""]
    if not plan.errors:
        lines += [f"Changes by cause: {_cell(cause_line(plan))}", ""]
    lines += ["| Action | Count |", "|---|---:|"]
    for t in ACTION_ORDER:
        lines.append(f"| `{t.symbol}` {t.value} | {getattr(s, t.value)} |")
    lines.append(f"| retrains | {s.retrains} |")
    lines.append(f"| drift (changed outside reconciler) | {s.drifted} |")
    total = plan.cost_total
    if total is not None and plan.has_changes and (total.money or total.unknown or total.gpu_hours):
        lines.append(f"| estimated cost | {_cell(total.money_text())} |")
        lines.append(f"| estimated GPU-hours | {total.gpu_hours:,.1f} |")
    extra = notes(plan)
    if extra:
        lines += [""] + [_cell(n) for n in extra]
    return "\n".join(lines) + "\n"


def _row(a: Action) -> str:
    reason = ("**drift:** " if a.drift else "") + _cell(a.reason)
    cls = a.change_class.value if a.change_class and a.action is not ActionType.NOOP else ""
    word = "no change" if a.action is ActionType.NOOP else a.action.value
    return f"| `{symbol(a)}` | `{_code(a.address)}` | {word} | {cls} | {reason} |\n"


def _details(a: Action) -> str:
    body = "\n".join(line.text for line in action_lines(a)) or "(nothing more to show)"
    fence = "`" * max(3, _longest_backtick_run(body) + 1)
    summary = html.escape(f"{symbol(a)} {heading(a)}")
    return (
        f"<details><summary><code>{summary}</code></summary>\n\n{fence}text\n{body}\n{fence}\n\n</details>\n"
    )


def _cell(text: str) -> str:
    """Safe inside a Markdown table cell or paragraph: one line, no pipes, no raw HTML."""
    text = " ".join(text.split())
    return html.escape(text, quote=False).replace("|", "\\|")


def _code(text: str) -> str:
    return " ".join(text.split()).replace("`", "'").replace("|", "\\|")


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)
