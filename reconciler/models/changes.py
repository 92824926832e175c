"""Change classes: what a difference in a spec field costs (DESIGN.md §2).

Every spec field belongs to exactly one change class, declared on the model with
`change_class(...)`; the planner reads it from the field's metadata. The ordering matters:
when several fields change, the most expensive class wins.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo


class ChangeClass(StrEnum):
    LOCAL = "local"  # recorded in state only, no provider call
    UPDATE = "update"  # changed in place by a provider call
    RERENDER = "re-render"  # a sample rendered again: one inference call, billed per render
    REDEPLOY = "redeploy"  # new deployment, traffic moves, old one deleted (create-before-destroy)
    REEXPORT = "re-export"  # a new checkpoint export
    RETRAIN = "retrain"  # a new training job — hours of GPU time

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    ChangeClass.LOCAL: 0,
    ChangeClass.UPDATE: 1,
    ChangeClass.RERENDER: 2,
    ChangeClass.REDEPLOY: 3,
    ChangeClass.REEXPORT: 4,
    ChangeClass.RETRAIN: 5,
}

CHANGE_CLASS_KEY = "x-change-class"


def change_class(cls: ChangeClass, default: Any = ..., **kwargs: Any) -> Any:
    """A pydantic Field tagged with its change class (also visible in the JSON Schema)."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[CHANGE_CLASS_KEY] = cls.value
    return Field(default, json_schema_extra=extra, **kwargs)


def field_change_class(info: FieldInfo) -> ChangeClass | None:
    extra = info.json_schema_extra
    if isinstance(extra, dict) and CHANGE_CLASS_KEY in extra:
        return ChangeClass(str(extra[CHANGE_CLASS_KEY]))
    return None
