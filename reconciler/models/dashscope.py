"""DashScope (Alibaba Cloud Model Studio) specs: Provider, Dataset, FineTune, CheckpointExport, Deployment.

Field names follow DashScope's own API (providers.md §1, seed 002) so its documentation carries
over. Limits and model-specific defaults of the Wan image-to-video LoRA models are validated
here, before any call is made; after validation the spec is *effective* — every default the
request will carry is filled in. Dataset layout and sample counts are checked by the loader,
which also emits the "fewer than 800 training steps" warning using `training_steps()`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from reconciler.models.changes import ChangeClass, change_class
from reconciler.models.connections import ENV_NAME_PATTERN, SANDBOX, ProviderConfig, endpoint_error
from reconciler.models.envelope import Name, StrictModel
from reconciler.models.kinds import Kind
from reconciler.models.rule_errors import RuleError, raise_rule_errors, rule_error
from reconciler.models.specs import ResourceSpec

RETRAIN, REEXPORT, REDEPLOY, UPDATE, LOCAL = (
    ChangeClass.RETRAIN,
    ChangeClass.REEXPORT,
    ChangeClass.REDEPLOY,
    ChangeClass.UPDATE,
    ChangeClass.LOCAL,
)

# ---------------------------------------------------------------------------------------------
# Provider


# Region shorthands → host root (providers.md §1.1). Base URLs add /api/v1 or /compatible-mode/v1.
DASHSCOPE_REGIONS: dict[str, str] = {
    "intl": "https://dashscope-intl.aliyuncs.com",
    "ap-southeast-1": "https://dashscope-intl.aliyuncs.com",
    "cn-beijing": "https://dashscope.aliyuncs.com",
    "cn-hongkong": "https://cn-hongkong.dashscope.aliyuncs.com",
}
_API_PATH_SUFFIXES = ("/api/v1", "/compatible-mode/v1")


def dashscope_base_url(endpoint: str) -> str:
    """The host root for `endpoint`: a region shorthand is mapped, a URL loses its trailing '/'.

    `sandbox` is returned unchanged; the caller routes it to the in-process emulator.
    """
    if endpoint == SANDBOX:
        return SANDBOX
    return DASHSCOPE_REGIONS.get(endpoint, endpoint).rstrip("/")


class DashScopeProvider(ProviderConfig):
    """A DashScope account in one region (API keys are region-bound)."""

    TYPE: ClassVar[str] = "dashscope"
    CREDENTIAL_FIELDS: ClassVar[dict[str, str]] = {"api_key": "api_key_env", "workspace": "workspace_env"}
    ENV_FIELDS: ClassVar[tuple[str, ...]] = ("api_key_env", "workspace_env")

    type: Literal["dashscope"] = Field(description="Provider type")
    endpoint: str = Field(
        description=(
            "'sandbox' (the embedded emulator), a region shorthand (intl, ap-southeast-1, cn-beijing, "
            "cn-hongkong), the host root as an https:// URL (e.g. https://dashscope-intl.aliyuncs.com), "
            "or http://localhost:PORT for `reconciler sandbox serve`"
        )
    )
    api_key_env: str = Field(
        "DASHSCOPE_API_KEY",
        pattern=ENV_NAME_PATTERN,
        description="Name of the environment variable that holds the API key (sent as Authorization: Bearer)",
    )
    workspace_env: str | None = Field(
        None,
        pattern=ENV_NAME_PATTERN,
        description="Name of the environment variable that holds the workspace id (sent as X-DashScope-WorkSpace)",
    )

    @field_validator("endpoint")
    @classmethod
    def _valid_endpoint(cls, value: str) -> str:
        if value in DASHSCOPE_REGIONS or value == SANDBOX:
            return value
        problem = endpoint_error(value, extra_hint=f", or a region: {', '.join(DASHSCOPE_REGIONS)}")
        if problem is None:
            path = "/" + urlsplit(value).path.strip("/")
            if path != "/":
                drop = next((s for s in _API_PATH_SUFFIXES if path.endswith(s)), path)
                problem = f"must be the host root without a path (drop '{drop}')"
        if problem:
            raise rule_error(problem)
        return value

    @property
    def base_url(self) -> str:
        """Host root, e.g. https://dashscope-intl.aliyuncs.com (or 'sandbox')."""
        return dashscope_base_url(self.endpoint)


# ---------------------------------------------------------------------------------------------
# Wan base models (providers.md §1.4, §1.8; seed 002)


@dataclass(frozen=True)
class WanModelFacts:
    """What the fine-tune API fixes or bounds for one Wan base model."""

    format: Literal["i2v", "kf2v"]  # first frame only, or first + last frame
    batch_size: int  # fixed: "use the default"
    max_pixels_default: int
    max_pixels_min: int
    max_pixels_max: int


WAN_MODELS: dict[str, WanModelFacts] = {
    "wan2.6-i2v": WanModelFacts("i2v", 2, 36864, 16384, 36864),
    "wan2.5-i2v-preview": WanModelFacts("i2v", 2, 36864, 16384, 36864),
    "wan2.2-i2v-flash": WanModelFacts("i2v", 4, 262144, 65536, 262144),
    "wan2.2-kf2v-flash": WanModelFacts("kf2v", 4, 262144, 65536, 262144),
}
WanModel = Literal["wan2.6-i2v", "wan2.5-i2v-preview", "wan2.2-i2v-flash", "wan2.2-kf2v-flash"]
# Rough training speed per base model, for the plan's cost line. The seed's example job
# (wan2.5-i2v-preview, defaults) ran 5h27m; these are estimates, shown as such.
SECONDS_PER_STEP: dict[str, float] = {
    "wan2.6-i2v": 24.0,
    "wan2.5-i2v-preview": 24.0,
    "wan2.2-i2v-flash": 12.0,
    "wan2.2-kf2v-flash": 14.0,
}
FALLBACK_SECONDS_PER_STEP = 0.8  # a model not in the table (the planner's old default)
MIN_RECOMMENDED_STEPS = 800  # below this the loader warns (seed 002: "at least 800 steps")

DEFAULT_N_EPOCHS = 400
DEFAULT_EVAL_EPOCHS = 50


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


# ---------------------------------------------------------------------------------------------
# Dataset


class DashScopeDataset(ResourceSpec):
    """A Wan training or validation set: a .zip or a directory (zipped deterministically on upload)."""

    KIND: ClassVar[Kind] = Kind.DATASET
    PROVIDER_TYPE: ClassVar[str] = "dashscope"

    provider: Name = change_class(RETRAIN, description="metadata.name of a Provider of type dashscope")
    source: str = change_class(
        LOCAL,
        min_length=1,
        description=(
            "Path to a .zip or a directory, relative to this manifest file. The dataset's identity is its "
            "content (file names and bytes), compared separately: moving it changes nothing, editing it retrains"
        ),
    )
    format: Literal["i2v", "kf2v"] | None = change_class(
        LOCAL,
        None,
        description=(
            "Layout: i2v (first frame → video) or kf2v (first + last frame → video). "
            "Empty: inferred from the base model of the fine-tunes that use it"
        ),
    )
    role: Literal["training", "validation"] = change_class(
        LOCAL,
        "training",
        description="training, or validation (a validation set has prompts and frames but no videos)",
    )

    def training_samples(self, content_samples: int | None) -> int:
        return 0 if self.role == "validation" else (content_samples or 0)  # a validation set trains nothing


# ---------------------------------------------------------------------------------------------
# FineTune


class DashScopeHyperParameters(StrictModel):
    """Wan i2v/kf2v hyper-parameters. batch_size, max_pixels and eval_epochs default per model/epochs."""

    batch_size: int | None = change_class(
        RETRAIN,
        None,
        ge=1,
        description="Samples per step; fixed per base model (wan2.6/2.5: 2, wan2.2: 4). Empty: the fixed value",
    )
    n_epochs: int = change_class(
        RETRAIN,
        DEFAULT_N_EPOCHS,
        ge=1,
        le=100_000,
        description="Training epochs; total steps = n_epochs × ceil(samples / batch_size) should be ≥ 800",
    )
    learning_rate: float = change_class(
        RETRAIN,
        2e-5,
        gt=0,
        lt=1,
        description="Learning rate (default 2e-5; the provider recommends the default)",
    )
    eval_epochs: int | None = change_class(
        RETRAIN,
        None,
        ge=1,
        description=(
            "Validate every N epochs; must be ≥ n_epochs/10. Empty: 50, or n_epochs/10 rounded up when that "
            "is larger"
        ),
    )
    max_pixels: int | None = change_class(
        RETRAIN,
        None,
        ge=1,
        description=(
            "Videos with more pixels (width × height) are downscaled. wan2.6/2.5: 16384–36864 (default 36864); "
            "wan2.2: 65536–262144 (default 262144)"
        ),
    )
    split: float = change_class(
        RETRAIN,
        0.9,
        gt=0,
        lt=1,
        description="Fraction kept for training when no validation set is given; the rest validates. In (0, 1)",
    )
    max_split_val_dataset_sample: int = change_class(
        RETRAIN,
        5,
        ge=1,
        le=100_000,
        description="Upper bound on the automatically split validation set: min(N × (1 − split), this)",
    )
    save_total_limit: int = change_class(
        RETRAIN, 20, ge=1, le=1000, description="Keep the last N checkpoints (reported as max_output_cnt)"
    )
    lora_rank: int = change_class(RETRAIN, 32, ge=1, le=1024, description="LoRA rank; a power of two")
    lora_alpha: int = change_class(
        RETRAIN, 32, ge=1, le=1024, description="LoRA scaling factor; a power of two"
    )

    @field_validator("lora_rank", "lora_alpha")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if not _is_power_of_two(value):
            raise rule_error(f"must be a power of two (got {value})")
        return value


class DashScopeFineTune(ResourceSpec):
    """A Wan LoRA fine-tune job (`POST /api/v1/fine-tunes`)."""

    KIND: ClassVar[Kind] = Kind.FINE_TUNE
    PROVIDER_TYPE: ClassVar[str] = "dashscope"
    REFERENCES: ClassVar[dict[str, Kind]] = {
        "training_datasets": Kind.DATASET,
        "validation_datasets": Kind.DATASET,
    }

    provider: Name = change_class(RETRAIN, description="metadata.name of a Provider of type dashscope")
    model: WanModel = change_class(RETRAIN, description="Base model to fine-tune")
    training_datasets: Annotated[list[Name], Field(min_length=1)] = change_class(
        RETRAIN, description="Names of the Datasets to train on (sent as training_file_ids)"
    )
    validation_datasets: list[Name] = change_class(
        RETRAIN,
        default_factory=list,
        description="Names of validation Datasets (validation_file_ids); empty: split from the training data",
    )
    training_type: Literal["efficient_sft"] = change_class(
        RETRAIN, "efficient_sft", description="Training method; Wan models support only efficient_sft (LoRA)"
    )
    hyper_parameters: DashScopeHyperParameters = change_class(
        RETRAIN,
        default_factory=DashScopeHyperParameters,
        description="Hyper-parameters; unset ones take the base model's defaults",
    )

    @model_validator(mode="after")
    def _model_rules(self) -> DashScopeFineTune:
        facts = WAN_MODELS[self.model]
        hp = self.hyper_parameters
        errors: list[RuleError] = []
        if hp.batch_size is None:
            hp.batch_size = facts.batch_size
        elif hp.batch_size != facts.batch_size:
            errors.append(
                RuleError(
                    ("hyper_parameters", "batch_size"),
                    f"is fixed at {facts.batch_size} for {self.model} (got {hp.batch_size})",
                    hp.batch_size,
                )
            )
        if hp.max_pixels is None:
            hp.max_pixels = facts.max_pixels_default
        elif not facts.max_pixels_min <= hp.max_pixels <= facts.max_pixels_max:
            errors.append(
                RuleError(
                    ("hyper_parameters", "max_pixels"),
                    f"must be between {facts.max_pixels_min} and {facts.max_pixels_max} for {self.model} "
                    f"(got {hp.max_pixels})",
                    hp.max_pixels,
                )
            )
        min_eval = math.ceil(hp.n_epochs / 10)
        if hp.eval_epochs is None:
            hp.eval_epochs = max(DEFAULT_EVAL_EPOCHS, min_eval)
        elif hp.eval_epochs < min_eval:
            errors.append(
                RuleError(
                    ("hyper_parameters", "eval_epochs"),
                    f"must be ≥ n_epochs/10 = {min_eval} (got {hp.eval_epochs})",
                    hp.eval_epochs,
                )
            )
        errors += _duplicate_names("training_datasets", self.training_datasets)
        errors += _duplicate_names("validation_datasets", self.validation_datasets)
        for i, name in enumerate(self.validation_datasets):
            if name in self.training_datasets:
                errors.append(
                    RuleError(
                        ("validation_datasets", i),
                        f"'{name}' is also a training dataset; a dataset cannot be both",
                        name,
                    )
                )
        raise_rule_errors(type(self).__name__, errors)
        return self

    @property
    def format(self) -> Literal["i2v", "kf2v"]:
        """The dataset layout this base model expects."""
        return WAN_MODELS[self.model].format

    def training_steps(self, sample_count: int) -> int:
        """Total optimiser steps: n_epochs × ceil(samples / batch_size) (seed 002)."""
        batch_size = self.hyper_parameters.batch_size or WAN_MODELS[self.model].batch_size
        return self.hyper_parameters.n_epochs * math.ceil(sample_count / batch_size)

    def saved_checkpoints(self, sample_count: int) -> list[str]:
        """The checkpoints a successful job keeps, oldest first: `checkpoint-<step>` every
        eval_epochs epochs and at the last epoch, the last save_total_limit of them.

        Seed 002 names checkpoints by step (checkpoint-20/40/60/160 for a small set) and saves one
        per validation (eval_epochs); `save_total_limit` keeps the last N (providers.md §1.4).
        The sandbox saves exactly these (a test holds the two together).
        """
        hp = self.hyper_parameters
        batch_size = hp.batch_size or WAN_MODELS[self.model].batch_size
        per_epoch = math.ceil(sample_count / batch_size)
        every = hp.eval_epochs or DEFAULT_EVAL_EPOCHS
        epochs = list(range(every, hp.n_epochs + 1, every))
        if not epochs or epochs[-1] != hp.n_epochs:
            epochs.append(hp.n_epochs)
        return [f"checkpoint-{e * per_epoch}" for e in epochs[-hp.save_total_limit :]]

    def planned_training_steps(self, samples: int) -> int | None:
        return self.training_steps(samples) if samples else None  # no samples known: no estimate

    def estimated_gpu_hours(self, steps: int) -> float | None:
        return round(steps * SECONDS_PER_STEP.get(self.model, FALLBACK_SECONDS_PER_STEP) / 3600, 1)

    def training_warnings(self, steps: int) -> list[str]:
        if steps >= MIN_RECOMMENDED_STEPS:
            return []
        return [f"only {steps} training steps; the provider recommends at least {MIN_RECOMMENDED_STEPS}"]


def _duplicate_names(field: str, names: list[str]) -> list[RuleError]:
    seen: set[str] = set()
    errors = []
    for i, name in enumerate(names):
        if name in seen:
            errors.append(RuleError((field, i), f"'{name}' is listed twice", name))
        seen.add(name)
    return errors


# ---------------------------------------------------------------------------------------------
# CheckpointExport

CHECKPOINT_PATTERN = r"^(checkpoint-[0-9]+|latest|latest-validated)$"
# Which checkpoint a selector names is decided after training, by the provider package
# (`providers/dashscope/checkpoint_choice.py`); the plan shows the choice and its reason.
CHECKPOINT_SELECTORS = ("latest", "latest-validated")
CHECKPOINT_REASONS = {
    "latest": "the newest checkpoint the job saved",
    "latest-validated": "newest with a successful validation preview",
}
# letters, digits, CJK ideographs, _ and - (seed 002: console display name, globally unique)
EXPORT_MODEL_NAME_PATTERN = "^[A-Za-z0-9_\\-\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$"
EXPORT_MODEL_NAME_MAX_LENGTH = 64


class DashScopeCheckpointExport(ResourceSpec):
    """Publish an intermediate checkpoint as a deployable model (`GET .../export/{checkpoint}`)."""

    KIND: ClassVar[Kind] = Kind.CHECKPOINT_EXPORT
    PROVIDER_TYPE: ClassVar[str] = "dashscope"
    REFERENCES: ClassVar[dict[str, Kind]] = {"fine_tune": Kind.FINE_TUNE}

    provider: Name = change_class(REEXPORT, description="metadata.name of a Provider of type dashscope")
    fine_tune: Name = change_class(REEXPORT, description="Name of the FineTune whose checkpoint is exported")
    checkpoint: str = change_class(
        REEXPORT,
        pattern=CHECKPOINT_PATTERN,
        description=(
            "Checkpoint to export: checkpoint-N (a step the job saves, checked at plan time), latest (the "
            "newest saved checkpoint) or latest-validated (the newest whose validation preview succeeded); "
            "a selector is resolved after training and recorded in state"
        ),
    )
    model_name: str = change_class(
        REEXPORT,
        min_length=1,
        max_length=EXPORT_MODEL_NAME_MAX_LENGTH,
        pattern=EXPORT_MODEL_NAME_PATTERN,
        description=(
            "Console display name of the exported model; globally unique; letters, digits, CJK, _ and -. "
            "The deployable model id is assigned by DashScope"
        ),
    )

    def plan_facts(self, outputs: Mapping[str, Any]) -> dict[str, str]:
        """The plan's line for a selector: what it resolved to (recorded outputs) and why."""
        if self.checkpoint not in CHECKPOINT_SELECTORS:
            return {}
        reason = CHECKPOINT_REASONS[self.checkpoint]
        resolved = outputs.get("checkpoint")
        if resolved:
            return {"checkpoint": f"{self.checkpoint} → {resolved}: {reason}"}
        return {"checkpoint": f"{self.checkpoint}: resolved after training ({reason})"}


# ---------------------------------------------------------------------------------------------
# Deployment

SUFFIX_PATTERN = r"^[a-z0-9]+$"
REQUIRES_PATTERN = r"^Sample/[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class DashScopeAigcConfig(StrictModel):
    """How the deployed Wan LoRA writes its prompt (seed 002, aigc_config)."""

    use_input_prompt: bool = change_class(
        REDEPLOY,
        False,
        description=(
            "false: ignore the prompt sent at inference and write one from the templates below; "
            "true: use the prompt sent at inference (the templates are ignored)"
        ),
    )
    prompt: str | None = change_class(
        REDEPLOY,
        None,
        min_length=1,
        description="Template that turns the input image into a full prompt with the effect's trigger text",
    )
    lora_prompt_default: str | None = change_class(
        REDEPLOY,
        None,
        min_length=1,
        description="Fallback prompt used when writing one from the template fails",
    )


class DashScopeDeployment(ResourceSpec):
    """An online deployment of a fine-tuned model or exported checkpoint (`POST /api/v1/deployments`)."""

    KIND: ClassVar[Kind] = Kind.DEPLOYMENT
    PROVIDER_TYPE: ClassVar[str] = "dashscope"
    REFERENCES: ClassVar[dict[str, Kind]] = {
        "fine_tune": Kind.FINE_TUNE,
        "checkpoint_export": Kind.CHECKPOINT_EXPORT,
    }

    provider: Name = change_class(REDEPLOY, description="metadata.name of a Provider of type dashscope")
    fine_tune: Name | None = change_class(
        REDEPLOY,
        None,
        description="Deploy this FineTune's final model (exactly one of fine_tune, checkpoint_export)",
    )
    checkpoint_export: Name | None = change_class(
        REDEPLOY,
        None,
        description="Deploy this CheckpointExport's model (exactly one of fine_tune, checkpoint_export)",
    )
    plan: Literal["lora", "mu", "cu", "ptu"] = change_class(
        REDEPLOY,
        "lora",
        description="Deployment plan; Wan LoRA fine-tunes deploy with lora (billed per call at the base model's price)",
    )
    capacity: int = change_class(
        UPDATE,
        1,
        ge=1,
        lt=1000,
        description=(
            "Model instances (< 1000), scaled in place; capacity applies to plan mu only: with plan lora it "
            "must be 1 (DashScope ignores it and cannot scale it)"
        ),
    )
    aigc_config: DashScopeAigcConfig | None = change_class(
        REDEPLOY, None, description="Prompt configuration; required for plan lora (Wan LoRA)"
    )
    name: str | None = change_class(
        REDEPLOY, None, min_length=1, max_length=128, description="Console display name of the deployment"
    )
    suffix: str | None = change_class(
        REDEPLOY,
        None,
        max_length=8,
        pattern=SUFFIX_PATTERN,
        description="Appended to the deployed model id (≤ 8 chars, a-z 0-9); needed to deploy one model twice",
    )
    # not part of the effective spec (exclude): it steers only the planner's gate, so adding it to an
    # applied Deployment changes nothing recorded and nothing on the provider
    requires: list[Annotated[str, Field(pattern=REQUIRES_PATTERN)]] = change_class(
        LOCAL,
        default_factory=list,
        exclude=True,
        description=(
            "Samples (Sample/NAME, rendering with this Deployment) that must succeed with a redeployed model "
            "before the old deployment is deleted; if one fails, the old deployment stays"
        ),
    )

    def gates(self) -> list[str]:
        return list(self.requires)

    def plan_facts(self, outputs: Mapping[str, Any]) -> dict[str, str]:
        if not self.requires:
            return {}
        return {
            "requires": f"on a redeploy, the old deployment is deleted only after {', '.join(self.requires)} succeeded"
        }

    @model_validator(mode="after")
    def _source_and_plan(self) -> DashScopeDeployment:
        errors: list[RuleError] = []
        if self.fine_tune is None and self.checkpoint_export is None:
            errors.append(
                RuleError(("fine_tune",), "exactly one of fine_tune or checkpoint_export is required")
            )
        elif self.fine_tune is not None and self.checkpoint_export is not None:
            errors.append(
                RuleError(
                    ("checkpoint_export",),
                    "give either fine_tune or checkpoint_export, not both",
                    self.checkpoint_export,
                )
            )
        if self.plan == "lora" and self.aigc_config is None:
            errors.append(
                RuleError(("aigc_config",), "is required when plan is lora (use {} to accept the defaults)")
            )
        if self.plan == "lora" and self.capacity != 1:
            errors.append(
                RuleError(
                    ("capacity",),
                    "capacity applies to plan mu only; for plan lora it is ignored (providers.md §1.6): "
                    f"remove it or set 1 (got {self.capacity})",
                    self.capacity,
                )
            )
        raise_rule_errors(type(self).__name__, errors)
        return self
