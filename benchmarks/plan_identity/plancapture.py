"""pytest plugin: every plan `make_plan` returns during the suite, as JSON and as text, written
to `$PLAN_CAPTURE_DIR/<test id>.<n>.{json,txt}` (see README.md)."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import pytest

_OUT = os.environ.get("PLAN_CAPTURE_DIR", "")
_state: dict[str, Any] = {"test": "none", "n": 0}


def _wrap() -> None:
    import reconciler.engine.planning as planning
    from reconciler.render.json_format import plan_to_json
    from reconciler.render.text import plan_to_text

    original = planning.make_plan

    def make_plan(inputs: Any) -> Any:
        plan = original(inputs)
        _state["n"] += 1
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", _state["test"])[:180] + f".{_state['n']}"
        try:
            as_json, as_text = plan_to_json(plan), plan_to_text(plan)
        except Exception as exc:  # noqa: BLE001 - what failed is the captured result
            as_json = as_text = f"render failed: {type(exc).__name__}: {exc}"
        with open(os.path.join(_OUT, name + ".json"), "w") as f:
            f.write(re.sub(r'"created_at": ?"[^"]*"', '"created_at": "X"', as_json))
        with open(os.path.join(_OUT, name + ".txt"), "w") as f:
            f.write(re.sub(r"created \S+", "created X", as_text))
        return plan

    planning.make_plan = make_plan  # type: ignore[assignment]  # the same signature
    for module in list(sys.modules.values()):
        if getattr(module, "make_plan", None) is original:
            module.make_plan = make_plan  # type: ignore[attr-defined]  # a module that imported it


def pytest_configure(config: pytest.Config) -> None:
    if _OUT:
        _wrap()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _state["test"] = item.nodeid
    _state["n"] = 0
