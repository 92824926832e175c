"""The plan as JSON: what `plan --json` prints and `plan --out` saves, and how it is read back.

The format is the `Plan` model, `format_version` first (documented in README, "Plan JSON
format"). Version policy: the major number changes when a field is removed or changes meaning
(a reader refuses any other major); the minor number changes when an optional field is added
(a reader accepts older minors, and newer ones as long as they validate).
Reading never trusts the file: it is validated against the model and refused with a message
that says what to do.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from reconciler.models.plans import PLAN_FORMAT_VERSION, Plan

REMAKE = "make a new one with `reconciler plan --out plan.json`"
OPERATIONS = ("apply", "destroy")
MODES = ("normal", "refresh-only")


class PlanFormatError(ValueError):
    """A saved plan that this reconciler cannot read; the message says what to do."""


def plan_to_json(plan: Plan) -> str:
    """Indented, UTF-8, `format_version` first, ending with a newline. Deterministic for one plan."""
    data = plan.model_dump(mode="json")
    # Written only when used, so a plan with no --target and no rename is the 1.0 document it was
    # (and an older reader of this major version still reads it).
    if not data.get("targets"):
        data.pop("targets", None)
    for action in data.get("actions", []):
        if action.get("moved_from") is None:
            action.pop("moved_from", None)
    # derived, for CI scripts: how many changes are drift and how many come from the manifests
    ordered = {"format_version": data.pop("format_version"), **data, "summary": plan.summary().model_dump()}
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def plan_from_json(text: str | bytes) -> Plan:
    """Parse and validate a saved plan; `PlanFormatError` for anything that is not a usable plan."""
    try:
        data: Any = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PlanFormatError(f"not a reconciler plan: the file is not valid JSON ({e}); {REMAKE}") from e
    if not isinstance(data, dict):
        raise PlanFormatError(
            f"not a reconciler plan: the file holds a JSON {_json_type(data)}, not an object "
            f"with a format_version field; {REMAKE}"
        )
    if "format_version" not in data:
        raise PlanFormatError(f"not a reconciler plan: no format_version field; {REMAKE}")
    version = data["format_version"]
    ours = _parse_version(PLAN_FORMAT_VERSION) or (0, 0)  # our own constant always parses
    theirs = _parse_version(version) if isinstance(version, str) else None
    if theirs is None:
        raise PlanFormatError(
            f"not a reconciler plan: format_version {version!r} is not MAJOR.MINOR; {REMAKE}"
        )
    if theirs[0] != ours[0]:
        who = "a newer" if theirs[0] > ours[0] else "an older"
        raise PlanFormatError(
            f"this plan uses format {version}, written by {who} reconciler; this one reads format "
            f"{ours[0]}.x only. Make the plan again with this reconciler (`reconciler plan --out plan.json`)"
            + (", or upgrade reconciler" if theirs[0] > ours[0] else "")
        )
    data.pop("summary", None)  # derived from the actions (1.3+); recomputed, never trusted
    try:
        plan = Plan.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors()[:3]
        )
        more = f" (and {e.error_count() - 3} more)" if e.error_count() > 3 else ""
        if theirs[1] > ours[1]:
            raise PlanFormatError(
                f"this plan uses format {version}, newer than this reconciler's {PLAN_FORMAT_VERSION}, and has "
                f"fields it does not know ({problems}{more}); upgrade reconciler, or {REMAKE}"
            ) from e
        raise PlanFormatError(f"not a valid reconciler plan ({problems}{more}); {REMAKE}") from e
    if plan.operation not in OPERATIONS:
        raise PlanFormatError(
            f"not a valid reconciler plan (operation: {plan.operation!r} is not one of "
            f"{', '.join(OPERATIONS)}); {REMAKE}"
        )
    if plan.mode not in MODES:
        raise PlanFormatError(
            f"not a valid reconciler plan (mode: {plan.mode!r} is not one of {', '.join(MODES)}); {REMAKE}"
        )
    return plan


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "null"
    )


def _parse_version(text: str) -> tuple[int, int] | None:
    major, sep, minor = text.partition(".")
    if not sep or not major.isdigit() or not minor.isdigit():
        return None
    return int(major), int(minor)
