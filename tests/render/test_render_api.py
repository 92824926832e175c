"""The public interface of `reconciler.render` is what `__all__` says, and nothing there is missing."""

from __future__ import annotations

import reconciler.render as render


def test_all_names_exist() -> None:
    assert sorted(render.__all__) == sorted(set(render.__all__))
    for name in render.__all__:
        assert getattr(render, name) is not None
    assert {
        "print_plan",
        "plan_to_json",
        "plan_from_json",
        "plan_to_markdown",
        "print_apply_result",
        "RichProgress",
        "make_console",
    } <= set(render.__all__)
