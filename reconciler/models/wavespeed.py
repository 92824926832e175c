"""WaveSpeed specs: Provider, Dataset and FineTune (a LoRA trainer prediction).

Field names follow WaveSpeed's trainer inputs (providers.md §2.4–§2.5, seed 000). Each trainer
has its own defaults and ranges for steps, learning_rate and lora_rank; they are applied after
validation, so the effective spec is exactly what will be submitted. `TRAINERS` is the table
other code (dataset checks, the provider, the sandbox) reads for per-trainer facts.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from reconciler.models.changes import ChangeClass, change_class
from reconciler.models.connections import ENV_NAME_PATTERN, ProviderConfig, endpoint_error
from reconciler.models.envelope import Name
from reconciler.models.kinds import Kind
from reconciler.models.rule_errors import RuleError, raise_rule_errors, rule_error
from reconciler.models.specs import ResourceSpec
from reconciler.models.wavespeed_tables import TRAINER_NAMESPACE as TRAINER_NAMESPACE
from reconciler.models.wavespeed_tables import TRAINER_SECONDS_PER_STEP as TRAINER_SECONDS_PER_STEP
from reconciler.models.wavespeed_tables import TRAINERS as TRAINERS
from reconciler.models.wavespeed_tables import Trainer as Trainer
from reconciler.models.wavespeed_tables import TrainerFacts as TrainerFacts
from reconciler.models.wavespeed_tables import trainer_model_id as trainer_model_id

RETRAIN, LOCAL = ChangeClass.RETRAIN, ChangeClass.LOCAL

WAVESPEED_DEFAULT_ENDPOINT = "https://api.wavespeed.ai"


class WaveSpeedProvider(ProviderConfig):
    """A WaveSpeed account (one API key)."""

    TYPE: ClassVar[str] = "wavespeed"
    CREDENTIAL_FIELDS: ClassVar[dict[str, str]] = {"api_key": "api_key_env"}
    ENV_FIELDS: ClassVar[tuple[str, ...]] = ("api_key_env",)

    type: Literal["wavespeed"] = Field(description="Provider type")
    endpoint: str = Field(
        WAVESPEED_DEFAULT_ENDPOINT,
        description=(
            "'sandbox' (the embedded emulator), the API host as an https:// URL (default "
            "https://api.wavespeed.ai), or http://localhost:PORT for `reconciler sandbox serve`"
        ),
    )
    api_key_env: str = Field(
        "WAVESPEED_API_KEY",
        pattern=ENV_NAME_PATTERN,
        description="Name of the environment variable that holds the API key (sent as Authorization: Bearer)",
    )

    @field_validator("endpoint")
    @classmethod
    def _valid_endpoint(cls, value: str) -> str:
        problem = endpoint_error(value)
        if problem:
            raise rule_error(problem)
        return value


# ---------------------------------------------------------------------------------------------
# Trainers (providers.md §2.5): the table is `models.wavespeed_tables` (re-exported above)


# ---------------------------------------------------------------------------------------------
# Dataset


class WaveSpeedDataset(ResourceSpec):
    """A trainer's `data` zip: a local folder/.zip (uploaded through media upload) or a public URL."""

    KIND: ClassVar[Kind] = Kind.DATASET
    PROVIDER_TYPE: ClassVar[str] = "wavespeed"

    provider: Name = change_class(RETRAIN, description="metadata.name of a Provider of type wavespeed")
    source: str | None = change_class(
        LOCAL,
        None,
        min_length=1,
        description=(
            "Path to a .zip or a directory of images/videos with same-name .txt captions, relative to this "
            "manifest file; identity is its content (exactly one of source, url)"
        ),
    )
    url: str | None = change_class(
        RETRAIN,
        None,
        description="Public https:// URL of a ready-made zip (exactly one of source, url)",
    )

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme != "https" or not parts.hostname:
                raise rule_error("must be an https:// URL")
        return value

    @model_validator(mode="after")
    def _exactly_one_origin(self) -> WaveSpeedDataset:
        if self.source is None and self.url is None:
            raise_rule_errors(
                type(self).__name__, [RuleError(("source",), "exactly one of source or url is required")]
            )
        if self.source is not None and self.url is not None:
            raise_rule_errors(
                type(self).__name__, [RuleError(("url",), "give either source or url, not both", self.url)]
            )
        return self


# ---------------------------------------------------------------------------------------------
# FineTune


class WaveSpeedFineTune(ResourceSpec):
    """One LoRA trainer prediction (`POST /api/v3/wavespeed-ai/{trainer}`)."""

    KIND: ClassVar[Kind] = Kind.FINE_TUNE
    PROVIDER_TYPE: ClassVar[str] = "wavespeed"
    REFERENCES: ClassVar[dict[str, Kind]] = {"dataset": Kind.DATASET}

    provider: Name = change_class(RETRAIN, description="metadata.name of a Provider of type wavespeed")
    trainer: Trainer = change_class(
        RETRAIN, description="LoRA trainer (model id without the wavespeed-ai/ prefix)"
    )
    dataset: Name = change_class(RETRAIN, description="Name of the Dataset sent as the trainer's data zip")
    trigger_word: str = change_class(
        RETRAIN,
        "p3r5on",
        max_length=200,
        description=(
            "Phrase that triggers the LoRA; prepended to captions that lack it, used alone where a caption is "
            "missing; empty: train on the captions as they are"
        ),
    )
    steps: int | None = change_class(
        RETRAIN,
        None,
        ge=1,
        description="Training steps; range and default depend on the trainer (e.g. wan-2.2-image: 1000–10000, 1000)",
    )
    learning_rate: float | None = change_class(
        RETRAIN,
        None,
        gt=0,
        le=1,
        description="Learning rate in (0, 1]; default depends on the trainer (e.g. wan-2.2-image: 0.0002)",
    )
    lora_rank: int | None = change_class(
        RETRAIN,
        None,
        ge=1,
        description="LoRA rank; range and default depend on the trainer (e.g. wan-2.2-image: 1–128, 32)",
    )

    def planned_training_steps(self, samples: int) -> int | None:
        return self.steps  # the trainer's default when unset (filled in by the validator below)

    def estimated_gpu_hours(self, steps: int) -> float | None:
        speed = TRAINER_SECONDS_PER_STEP.get(self.trainer)
        return round(steps * speed / 3600, 1) if speed is not None else None

    @model_validator(mode="after")
    def _trainer_ranges(self) -> WaveSpeedFineTune:
        facts = TRAINERS[self.trainer]
        errors: list[RuleError] = []
        if self.steps is None:
            self.steps = facts.steps_default
        elif not facts.steps_min <= self.steps <= facts.steps_max:
            errors.append(
                RuleError(
                    ("steps",),
                    f"must be between {facts.steps_min} and {facts.steps_max} for {self.trainer} (got {self.steps})",
                    self.steps,
                )
            )
        if self.learning_rate is None:  # every trainer documents the range 0–1 (checked on the field)
            self.learning_rate = facts.learning_rate_default
        if self.lora_rank is None:
            self.lora_rank = facts.lora_rank_default
        elif not facts.lora_rank_min <= self.lora_rank <= facts.lora_rank_max:
            errors.append(
                RuleError(
                    ("lora_rank",),
                    f"must be between {facts.lora_rank_min} and {facts.lora_rank_max} for {self.trainer} "
                    f"(got {self.lora_rank})",
                    self.lora_rank,
                )
            )
        raise_rule_errors(type(self).__name__, errors)
        return self

    @property
    def facts(self) -> TrainerFacts:
        return TRAINERS[self.trainer]

    @property
    def model_id(self) -> str:
        return trainer_model_id(self.trainer)
