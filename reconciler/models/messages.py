"""Turn pydantic's error dicts into reconciler's messages: short, lower-case, actionable.

`humanize(error)` returns the dotted field path (`hyper_parameters.lora_rank`,
`training_datasets[0]`) and a message that says what is allowed and what was given:
`must be ≤ 128 (got 200)`, `must be one of: a, b, c (got 'x')`,
`unknown field 'lora_rnk' — did you mean 'lora_rank'?`. The loader adds `file:line:col`.

Values of credential fields are never repeated, whatever the error.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconciler.models.connections import ENV_NAME_PATTERN, is_credential_key
from reconciler.models.dashscope import CHECKPOINT_PATTERN, EXPORT_MODEL_NAME_PATTERN, SUFFIX_PATTERN
from reconciler.models.kinds import NAME_MAX_LENGTH, NAME_PATTERN
from reconciler.models.rule_errors import RULE_ERROR_TYPE

FieldsHint = type[BaseModel] | Iterable[str] | None

# What a regular expression means, in words (so users never read a regex).
PATTERN_MEANINGS: dict[str, str] = {
    NAME_PATTERN: (
        f"must be a name of lower-case letters, digits and '-', starting and ending with a letter or digit, "
        f"at most {NAME_MAX_LENGTH} characters"
    ),
    ENV_NAME_PATTERN: "must be an environment variable name: letters, digits and _, not starting with a digit",
    CHECKPOINT_PATTERN: "must name a checkpoint like checkpoint-160",
    EXPORT_MODEL_NAME_PATTERN: "may contain only letters, digits, CJK characters, _ and -",
    SUFFIX_PATTERN: "may contain only lower-case letters and digits",
}

_MAX_SHOWN = 60
_MAX_LISTED_FIELDS = 12


def humanize(error: ErrorDetails, model_fields_hint: FieldsHint = None) -> tuple[str, str]:
    """(dotted field path, message) for one pydantic error.

    `model_fields_hint` is the model that was validated (or the field names allowed at the
    error's parent) and makes "did you mean" suggestions for unknown fields possible.
    """
    loc = tuple(part for part in error.get("loc", ()) if not _is_pydantic_tag(part))
    path = format_path(loc)
    secret = any(isinstance(part, str) and _is_secret_field(part) for part in loc)
    builder = _BUILDERS.get(error["type"])
    message = builder(error, loc, model_fields_hint) if builder else _fallback(error)
    if not secret and _wants_value(error):
        message = f"{message} (got {_show(error.get('input'))})"
    return path, message


def humanize_all(exc: ValidationError, model_fields_hint: FieldsHint = None) -> list[tuple[str, str]]:
    return [humanize(e, model_fields_hint) for e in exc.errors()]


def format_path(loc: Iterable[str | int]) -> str:
    """('training_datasets', 0) -> 'training_datasets[0]'; ('a', 'b') -> 'a.b'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# ---------------------------------------------------------------------------------------------


def _is_pydantic_tag(part: str | int) -> bool:
    # union members and validator wrappers appear in loc as e.g. "function-after[...]" or "list[str]"
    return isinstance(part, str) and "[" in part and part.endswith("]")


def _is_secret_field(name: str) -> bool:
    return name.endswith("_env") or is_credential_key(name)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 1] + "…"
        return repr(text)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _wants_value(error: ErrorDetails) -> bool:
    # custom rule messages carry their own "(got …)" where a value is useful and safe
    return error["type"] not in _NO_VALUE


_NO_VALUE = frozenset(
    {
        "missing",
        "extra_forbidden",
        RULE_ERROR_TYPE,
        "value_error",
        "assertion_error",
        "too_short",
        "too_long",
        "string_too_short",
        "string_too_long",
    }
)


def _ctx(error: ErrorDetails, key: str) -> Any:
    return (error.get("ctx") or {}).get(key)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _expected_choices(error: ErrorDetails) -> str:
    expected = str(_ctx(error, "expected") or "")
    parts = re.split(r", | or ", expected)
    return ", ".join(p.strip().strip("'") for p in parts if p.strip())


def _unknown_field(error: ErrorDetails, loc: tuple[str | int, ...], hint: FieldsHint) -> str:
    name = str(loc[-1]) if loc else "?"
    known = _known_fields(hint, loc[:-1])
    if is_credential_key(name):
        base = f"unknown field '{name}'; credentials belong in environment variables named by the Provider"
        return base
    folded = {_fold(k): k for k in known}  # max_epochs → maxEpochs, Batch_Size → batch_size
    close = (
        [folded[_fold(name)]]
        if _fold(name) in folded
        else difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    )
    if close:
        return f"unknown field '{name}' — did you mean '{close[0]}'?"
    if 0 < len(known) <= _MAX_LISTED_FIELDS:
        return f"unknown field '{name}' (allowed: {', '.join(sorted(known))})"
    return f"unknown field '{name}'"


def _fold(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _known_fields(hint: FieldsHint, parent: tuple[str | int, ...]) -> list[str]:
    if hint is None:
        return []
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        model: type[BaseModel] | None = hint
        for part in parent:
            if isinstance(part, int) or model is None:
                continue
            field = model.model_fields.get(part)
            model = nested_model(field.annotation) if field else None
        return list(model.model_fields) if model else []
    return [] if parent else list(hint)


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside `X`, `X | None`, `list[X]`, `Annotated[X, …]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return nested_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, dict):
        for arg in typing.get_args(annotation):
            found = nested_model(arg)
            if found:
                return found
    return None


def _length(error: ErrorDetails, word: str) -> str:
    is_text = error["type"].startswith("string")
    limit = _ctx(error, f"{word}_length")
    actual = _ctx(error, "actual_length")
    if actual is None and isinstance(error.get("input"), str | list | tuple):
        actual = len(error["input"])
    if is_text and word == "min" and limit == 1:
        return "must not be empty"
    unit = ("character" if is_text else "item") + ("" if limit == 1 else "s")
    qualifier = "at least" if word == "min" else "at most"
    got = f" (got {actual})" if actual is not None else ""
    return f"must have {qualifier} {limit} {unit}{got}"


def _pattern(error: ErrorDetails) -> str:
    pattern = str(_ctx(error, "pattern"))
    return PATTERN_MEANINGS.get(pattern, f"must match the pattern {pattern}")


def _custom(error: ErrorDetails) -> str:
    message = str(error.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message[:1].lower() + message[1:] if message[:2] != message[:2].upper() else message


def _fallback(error: ErrorDetails) -> str:
    message = str(error.get("msg", "is invalid"))
    message = re.sub(r"^Input should be ", "must be ", message)
    return message[:1].lower() + message[1:]


Builder = Callable[[ErrorDetails, tuple[str | int, ...], FieldsHint], str]

_BUILDERS: dict[str, Builder] = {
    "missing": lambda e, loc, h: "is required",
    "extra_forbidden": _unknown_field,
    RULE_ERROR_TYPE: lambda e, loc, h: str(_ctx(e, "message") or e["msg"]),
    "value_error": lambda e, loc, h: _custom(e),
    "assertion_error": lambda e, loc, h: _custom(e),
    "literal_error": lambda e, loc, h: f"must be one of: {_expected_choices(e)}",
    "enum": lambda e, loc, h: f"must be one of: {_expected_choices(e)}",
    "greater_than_equal": lambda e, loc, h: f"must be ≥ {_num(_ctx(e, 'ge'))}",
    "greater_than": lambda e, loc, h: f"must be > {_num(_ctx(e, 'gt'))}",
    "less_than_equal": lambda e, loc, h: f"must be ≤ {_num(_ctx(e, 'le'))}",
    "less_than": lambda e, loc, h: f"must be < {_num(_ctx(e, 'lt'))}",
    "multiple_of": lambda e, loc, h: f"must be a multiple of {_num(_ctx(e, 'multiple_of'))}",
    "finite_number": lambda e, loc, h: "must be a finite number",
    "int_type": lambda e, loc, h: "must be an integer",
    "int_parsing": lambda e, loc, h: "must be an integer",
    "int_from_float": lambda e, loc, h: "must be a whole number",
    "float_type": lambda e, loc, h: "must be a number",
    "float_parsing": lambda e, loc, h: "must be a number",
    "bool_type": lambda e, loc, h: "must be true or false",
    "bool_parsing": lambda e, loc, h: "must be true or false",
    "string_type": lambda e, loc, h: "must be a string",
    "list_type": lambda e, loc, h: "must be a list",
    "tuple_type": lambda e, loc, h: "must be a list",
    "set_type": lambda e, loc, h: "must be a list",
    "dict_type": lambda e, loc, h: "must be a mapping",
    "model_type": lambda e, loc, h: "must be a mapping",
    "model_attributes_type": lambda e, loc, h: "must be a mapping",
    "none_required": lambda e, loc, h: "must be empty",
    "too_short": lambda e, loc, h: _length(e, "min"),
    "string_too_short": lambda e, loc, h: _length(e, "min"),
    "too_long": lambda e, loc, h: _length(e, "max"),
    "string_too_long": lambda e, loc, h: _length(e, "max"),
    "string_pattern_mismatch": lambda e, loc, h: _pattern(e),
}
