"""Rendering plans and apply results for people (text, Markdown) and programs (JSON).

Public interface:
- `make_console(stream=None, *, no_color=None)` — colour only on a TTY without NO_COLOR
- `output_console(stream=None)` — the same, importing rich only when a plain stream needs more than text
- `print_plan(console, plan)`, `plan_to_text(plan, color=False)` — Terraform-like text
- `plan_to_json(plan)`, `plan_from_json(text)` (raises `PlanFormatError`) — versioned JSON
- `plan_to_markdown(plan, limit=60_000)` — a pull-request comment
- `print_apply_result(console, result, plan=None)` — succeeded / failed / skipped / deferred (the plan adds why a forget was only a forget)
- `RichProgress(console)` — the engine's ProgressSink for long waits

Renderers only describe a plan; they never change it and never decide anything apply does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.render.apply_text import print_apply_result
    from reconciler.render.describing import cost_output_text, output_value_text, summary_line
    from reconciler.render.json_format import PlanFormatError, plan_from_json, plan_to_json
    from reconciler.render.markdown import comment_marker, plan_to_markdown
    from reconciler.render.progress import RichProgress
    from reconciler.render.stream import JsonStream
    from reconciler.render.terminal import make_console, output_console
    from reconciler.render.text import plan_to_text, print_plan

# Imported on first use: a command that prints JSON never loads rich, and --help loads nothing.
_LAZY = {
    "print_apply_result": "reconciler.render.apply_text",
    "summary_line": "reconciler.render.describing",
    "cost_output_text": "reconciler.render.describing",
    "output_value_text": "reconciler.render.describing",
    "PlanFormatError": "reconciler.render.json_format",
    "plan_from_json": "reconciler.render.json_format",
    "plan_to_json": "reconciler.render.json_format",
    "plan_to_markdown": "reconciler.render.markdown",
    "comment_marker": "reconciler.render.markdown",
    "RichProgress": "reconciler.render.progress",
    "JsonStream": "reconciler.render.stream",
    "make_console": "reconciler.render.terminal",
    "output_console": "reconciler.render.terminal",
    "plan_to_text": "reconciler.render.text",
    "print_plan": "reconciler.render.text",
}

__all__ = [
    "JsonStream",
    "PlanFormatError",
    "RichProgress",
    "comment_marker",
    "cost_output_text",
    "output_value_text",
    "make_console",
    "output_console",
    "plan_from_json",
    "plan_to_json",
    "plan_to_markdown",
    "plan_to_text",
    "print_apply_result",
    "print_plan",
    "summary_line",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'reconciler.render' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
