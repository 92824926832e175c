"""Typed request and response bodies of the WaveSpeed APIs the reconciler uses (providers.md §2).

Responses are tolerant: unknown fields are kept (`extra="allow"`), statuses stay plain strings
(an unknown status must not break a refresh) and `outputs` stays raw JSON — its shape is not
documented, so `outputs.py` interprets it. Requests are strict: a misspelt field is a bug here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class PredictionStatus:
    """Status words (providers.md §2.2). The SDK treats the last three as terminal failures too;
    the desktop app knows `pending`. Anything else is read as "not finished yet"."""

    CREATED = "created"
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    DELETED = "deleted"
    RUNNING = frozenset({CREATED, PENDING, PROCESSING})
    TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, TIMEOUT, DELETED})


class Prediction(_Response):
    """One prediction (a trainer run): the submit/result `data`, a history item, a webhook body."""

    id: str
    model: str | None = None
    status: str = PredictionStatus.CREATED
    outputs: list[Any] = Field(default_factory=list)
    urls: dict[str, Any] = Field(default_factory=dict)
    has_nsfw_contents: list[Any] = Field(default_factory=list)
    created_at: str | None = None
    error: str | None = None
    timings: dict[str, Any] | None = None
    execution_time: float | None = Field(None, alias="executionTime")
    input: dict[str, Any] | None = None

    @field_validator("outputs", "has_nsfw_contents", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("error", mode="before")
    @classmethod
    def _error_text(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)


class PredictionPage(_Response):
    """`POST /api/v3/predictions` → `data: {page, total?, items}`."""

    page: int | None = None
    page_size: int | None = None
    total: int | None = None
    items: list[Prediction] = Field(default_factory=list)

    @field_validator("items", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class UploadInstruction(_Response):
    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)


class UploadTicket(_Response):
    """`POST /api/v3/media/uploads` → where to PUT the bytes, and the URL they will be served at."""

    upload: UploadInstruction
    download_url: str


class UploadedMedia(BaseModel):
    """The result of a media upload, whichever of the three endpoints served it."""

    url: str
    filename: str
    size: int
    endpoint: str  # "ticket" | "simple" | "legacy-binary"


class TrainerInputs(_Request):
    """The flat JSON body of `POST /api/v3/wavespeed-ai/<trainer>` (seed 000, providers.md §2.5)."""

    data: str = Field(min_length=1)
    trigger_word: str | None = None
    steps: int | None = None
    learning_rate: float | None = None
    lora_rank: int | None = None


__all__ = [
    "Prediction",
    "PredictionPage",
    "PredictionStatus",
    "TrainerInputs",
    "UploadInstruction",
    "UploadTicket",
    "UploadedMedia",
]
