"""Raise validation errors at a precise field path from cross-field rules.

Pydantic reports a model validator's error at the model itself. Our rules (a batch size fixed
by the base model, "exactly one of fine_tune / checkpoint_export", a secret written inline)
belong to one field, and the loader needs that field's path to point at a line and column.
`raise_rule_errors` raises a `ValidationError` whose errors carry the right `loc`; pydantic
prefixes it with the parent path when the model is nested.

This module never formats values into messages on its own: callers decide what is safe to echo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

RULE_ERROR_TYPE = "rule_violation"
REDACTED = "<redacted>"


@dataclass(frozen=True)
class RuleError:
    loc: tuple[str | int, ...]
    message: str
    input: Any = None


def rule_error(message: str) -> PydanticCustomError:
    """A custom error whose message is used verbatim (braces in it are not a template)."""
    return PydanticCustomError(RULE_ERROR_TYPE, "{message}", {"message": message})


def raise_rule_errors(title: str, errors: Sequence[RuleError]) -> None:
    """Raise all `errors` at once (a run reports every problem, not just the first)."""
    if not errors:
        return
    raise ValidationError.from_exception_data(
        title,
        [InitErrorDetails(type=rule_error(e.message), loc=e.loc, input=e.input) for e in errors],
        hide_input=True,
    )


def _as_init_error(error: Any) -> InitErrorDetails:
    """Turn a reported error back into one that can be raised again, keeping type and context."""
    loc, value, message = tuple(error["loc"]), error.get("input"), error["msg"]
    if error["type"] != RULE_ERROR_TYPE:
        details = InitErrorDetails(type=error["type"], loc=loc, input=value)
        if error.get("ctx"):
            details["ctx"] = error["ctx"]
        try:  # built-in types are checked (and their context required) on construction
            ValidationError.from_exception_data("probe", [details])
            return details
        except (KeyError, TypeError, ValueError):
            return InitErrorDetails(
                type=PydanticCustomError(error["type"], "{message}", {"message": message}),
                loc=loc,
                input=value,
            )
    return InitErrorDetails(type=rule_error(message), loc=loc, input=value)


def raise_combined(title: str, caught: ValidationError | None, errors: Sequence[RuleError]) -> None:
    """Raise `caught`'s errors together with `errors` (both in order); no-op when there are none."""
    line_errors = [_as_init_error(e) for e in caught.errors()] if caught is not None else []
    line_errors += [InitErrorDetails(type=rule_error(e.message), loc=e.loc, input=e.input) for e in errors]
    if line_errors:
        raise ValidationError.from_exception_data(title, line_errors, hide_input=True)
