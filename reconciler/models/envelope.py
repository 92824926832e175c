"""The Kubernetes-style envelope shared by every kind (DESIGN.md §1).

`metadata` and `lifecycle` are local: changing them never calls a provider. Specs are
defined per (kind, provider type) in the provider modules and looked up in `registry`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.models.kinds import NAME_MAX_LENGTH, NAME_PATTERN


class StrictModel(BaseModel):
    """Unknown keys are errors: typos must not pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, validate_default=True, defer_build=True)


_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """'12h', '90m', '1d2h', '45s' -> timedelta. ValueError on anything else."""
    m = _DURATION_RE.match(text.strip()) if text else None
    if not m or not any(m.groups()):
        raise ValueError(f"must be a duration like 30s, 45m, 12h or 2d (got {text!r})")
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return timedelta(days=d, hours=h, minutes=mi, seconds=s)


def format_duration(seconds: float) -> str:
    """`130` -> `2m10s`; `7980` -> `2h13m`: the inverse direction of parse_duration, for humans."""
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


Duration = Annotated[str, Field(description="A duration like 30s, 45m, 12h or 2d")]


class Timeouts(StrictModel):
    create: Duration | None = None
    update: Duration | None = None
    delete: Duration | None = None

    @field_validator("create", "update", "delete")
    @classmethod
    def _valid_duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


class Lifecycle(StrictModel):
    prevent_destroy: bool = Field(False, description="Refuse to plan a delete or replace of this resource")
    deletion: Literal["delete", "retain"] = Field(
        "delete",
        description="delete: remove it from the provider; retain: forget it, leave it on the provider",
    )
    ignore_changes: list[str] = Field(
        default_factory=list, description="Spec paths (dotted) whose differences are not drift"
    )
    timeouts: Timeouts = Field(default_factory=Timeouts)
    on_timeout: Literal["cancel", "keep"] | None = Field(
        None,
        description=(
            "What apply does with a job still running past lifecycle.timeouts.create: cancel it (the default "
            "for training jobs, so it stops billing) or keep it running and stop waiting"
        ),
    )


Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=NAME_MAX_LENGTH)]


class Metadata(StrictModel):
    name: Name
    labels: dict[str, str] = Field(default_factory=dict, description="Local only; never sent to a provider")
    moved_from: Name | None = Field(
        None,
        description="The name this resource had before a rename: the next apply moves its state (same "
        "provider object, no retrain, no redeploy) instead of creating it again and deleting the old one",
    )
