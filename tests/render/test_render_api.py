"""The public interface of `reconciler.render` is exactly what `__all__` says."""

from __future__ import annotations

import reconciler.render as render

PUBLIC = {
    "JsonStream",  # the machine-readable stream of plan/apply --json
    "PlanFormatError",
    "RichProgress",
    "make_console",
    "output_console",  # make_console's console, plain without rich for a pipe (the CLI's apply)
    "plan_from_json",
    "plan_to_json",
    "plan_to_markdown",
    "comment_marker",
    "plan_to_text",
    "print_apply_result",
    "print_plan",
    "summary_line",
    "cost_output_text",
    "output_value_text",
}


def test_a_star_import_gives_exactly_the_public_names() -> None:
    # a name added to or dropped from the interface is a decision this test makes visible
    namespace: dict[str, object] = {}
    exec("from reconciler.render import *", namespace)
    assert set(namespace) - {"__builtins__"} == PUBLIC == set(render.__all__)
