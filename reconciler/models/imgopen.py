"""ImgOpen (api.zhiqite.com) specs: Provider, Dataset (image URLs) and FineTune (submitTraining/Job).

Training fields keep ImgOpen's camelCase names from the field table of seed 003 (providers.md
§3.1), so its documentation carries over; the seed's example body mixes in snake_case, which
we do not accept. Learning rates are stored as normalised decimal strings because the API takes
them as strings "to prevent precision loss". The `taskId` is derived by the provider, not
written by users.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from reconciler.models.changes import ChangeClass, change_class
from reconciler.models.connections import ENV_NAME_PATTERN, ProviderConfig, endpoint_error
from reconciler.models.envelope import Name
from reconciler.models.kinds import Kind
from reconciler.models.rule_errors import RuleError, raise_rule_errors, rule_error
from reconciler.models.specs import ResourceSpec

RETRAIN = ChangeClass.RETRAIN

IMGOPEN_DEFAULT_ENDPOINT = "https://api.zhiqite.com"
MIN_IMAGES, MAX_IMAGES = 10, 100
LEARNING_RATE_MIN, LEARNING_RATE_MAX = Decimal("0.0000001"), Decimal("0.0001")


class ImgOpenProvider(ProviderConfig):
    """An ImgOpen account (access key id + secret, sent as X-Request-req-* headers)."""

    TYPE: ClassVar[str] = "imgopen"
    CREDENTIAL_FIELDS: ClassVar[dict[str, str]] = {
        "access_key_id": "access_key_id_env",
        "access_key_secret": "access_key_secret_env",
    }
    ENV_FIELDS: ClassVar[tuple[str, ...]] = ("access_key_id_env", "access_key_secret_env")

    type: Literal["imgopen"] = Field(description="Provider type")
    endpoint: str = Field(
        IMGOPEN_DEFAULT_ENDPOINT,
        description=(
            "'sandbox' (the embedded emulator), the API host as an https:// URL (default "
            "https://api.zhiqite.com), or http://localhost:PORT for `reconciler sandbox serve`"
        ),
    )
    access_key_id_env: str = Field(
        "IMGOPEN_ACCESS_KEY_ID",
        pattern=ENV_NAME_PATTERN,
        description="Name of the environment variable that holds the access key id (X-Request-req-accessKeyId)",
    )
    access_key_secret_env: str = Field(
        "IMGOPEN_ACCESS_KEY_SECRET",
        pattern=ENV_NAME_PATTERN,
        description=(
            "Name of the environment variable that holds the access key secret (X-Request-req-accessKeySecret)"
        ),
    )

    @field_validator("endpoint")
    @classmethod
    def _valid_endpoint(cls, value: str) -> str:
        problem = endpoint_error(value)
        if problem:
            raise rule_error(problem)
        return value


# ---------------------------------------------------------------------------------------------
# Dataset


class ImgOpenDataset(ResourceSpec):
    """Training images as public URLs (sent as fileUrlList)."""

    KIND: ClassVar[Kind] = Kind.DATASET
    PROVIDER_TYPE: ClassVar[str] = "imgopen"

    provider: Name = change_class(RETRAIN, description="metadata.name of a Provider of type imgopen")
    urls: Annotated[list[str], Field(min_length=MIN_IMAGES, max_length=MAX_IMAGES)] = change_class(
        RETRAIN, description="10–100 public http(s) image URLs (sent as fileUrlList)"
    )

    @field_validator("urls")
    @classmethod
    def _public_urls(cls, urls: list[str]) -> list[str]:
        errors: list[RuleError] = []
        seen: set[str] = set()
        for i, url in enumerate(urls):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                errors.append(RuleError((i,), f"must be an http(s) URL (got {url!r})", url))
            elif url in seen:
                errors.append(RuleError((i,), f"duplicate URL {url!r}", url))
            seen.add(url)
        raise_rule_errors(cls.__name__, errors)
        return urls

    def training_samples(self, content_samples: int | None) -> int:
        return len(self.urls) if content_samples is None else content_samples  # one sample per image URL


# ---------------------------------------------------------------------------------------------
# FineTune


def _decimal_string(value: object) -> object:
    """1e-5, '1e-5' and '0.00001' all become '0.00001'; anything else is left for validation to reject."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return value
        if number.is_finite():
            return format(number.normalize(), "f")
    return value


# A number or a numeric string in the manifest; always a plain decimal string after validation.
DecimalString = Annotated[
    str,
    BeforeValidator(_decimal_string),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*$"}, {"type": "number"}]}),
]

OptimizerType = Literal[
    "AdamW",
    "AdamW8bit",
    "PagedAdamW8bit",
    "Lion8bit",
    "PagedLion8bit",
    "Lion",
    "SGDNesterov",
    "SGDNesterov8bit",
    "DAdaptation",
    "DAdaptAdaGrad",
    "DAdaptAdam",
    "DAdaptAdan",
    "DAdaptAdanIP",
    "DAdaptLion",
    "DAdaptSGD",
    "AdaFactor",
]


def _opt(description: str, default: Any = None, **constraints: Any) -> Any:
    return change_class(RETRAIN, default, description=description, **constraints)


class ImgOpenFineTune(ResourceSpec):
    """A LoRA training task (`POST /AIGCImgOpenServ/saas/modelTraining/submitTraining/Job`).

    Unset optional fields are omitted from the request, leaving ImgOpen's own defaults.
    """

    KIND: ClassVar[Kind] = Kind.FINE_TUNE
    PROVIDER_TYPE: ClassVar[str] = "imgopen"
    REFERENCES: ClassVar[dict[str, Kind]] = {"dataset": Kind.DATASET}

    provider: Name = change_class(RETRAIN, description="metadata.name of a Provider of type imgopen")
    dataset: Name = change_class(
        RETRAIN, description="Name of the Dataset whose URLs are sent as fileUrlList"
    )

    maxEpochs: int = _opt("Training epochs, 10–50", 20, ge=10, le=50)
    batchSize: int = _opt("Images per batch, 1–4", 1, ge=1, le=4)
    learningRate: DecimalString = _opt(
        "Learning rate, 0.0000001–0.0001; a number or a string, sent as a decimal string", "0.00001"
    )
    maxTokenLength: Literal[0, 150, 225] = _opt("Maximum caption token length: 0, 150 or 225", 225)
    clipSkip: int = _opt("CLIP layers to skip, 1–5", 1, ge=1, le=5)
    randomCrop: bool | None = _opt("Randomly crop training images")
    pretrainedModel: str = _opt(
        "Base checkpoint to train on", "v1-5-pruned-emaonly", min_length=1, max_length=256
    )
    repeats: int = _opt("Times each image is repeated per epoch, 1–30", 10, ge=1, le=30)
    mixedPrecision: Literal["fp16", "bf16"] | None = _opt("Training precision: fp16 or bf16")
    savePrecision: Literal["fp16", "bf16", "float"] | None = _opt(
        "Precision of the saved LoRA: fp16, bf16 or float"
    )
    numCpuThreadsPerProcess: int | None = _opt("CPU threads per process, 1–20", ge=1, le=20)
    seed: int | None = _opt("Random seed", ge=0, le=2**32 - 1)
    cacheLatents: bool | None = _opt("Cache latents in memory")
    cacheLatentsToDisk: bool | None = _opt("Cache latents on disk")
    lrScheduler: str | None = _opt(
        "Learning-rate scheduler, e.g. constant or cosine", min_length=1, max_length=64
    )
    lrWarmupSteps: int | None = _opt("Warm-up steps, 0–100", ge=0, le=100)
    optimizerType: OptimizerType | None = _opt("Optimizer")
    resolution: int | None = _opt("Training resolution in pixels, e.g. 512", ge=64, le=4096)
    enableBucket: bool | None = _opt("Bucket images by aspect ratio")
    minBucketReso: int | None = _opt("Smallest bucket resolution", ge=64, le=4096)
    maxBucketReso: int | None = _opt("Largest bucket resolution", ge=64, le=8192)
    textEncoderLr: DecimalString | None = _opt(
        "Text-encoder learning rate (a number, sent as a string), e.g. 5e-05"
    )
    unetLr: DecimalString | None = _opt("U-Net learning rate (a number, sent as a string), e.g. 0.0001")
    networkDropout: float | None = _opt("Network dropout, 0–1", ge=0, le=1)
    rankDropout: float | None = _opt("Rank dropout, 0–1", ge=0, le=1)
    moduleDropout: float | None = _opt("Module dropout, 0–1", ge=0, le=1)
    networkModule: str | None = _opt("Network module, e.g. networks.lora", min_length=1, max_length=128)
    networkDim: int | None = _opt("LoRA dimension (rank)", ge=1, le=1024)
    networkAlpha: int | None = _opt("LoRA alpha", ge=1, le=1024)
    networkArgs: str | None = _opt("Extra network arguments", max_length=1024)
    v2: bool | None = _opt("The base model is Stable Diffusion 2.x")
    flipAug: bool | None = _opt("Augment with horizontal flips")
    colorAug: bool | None = _opt("Augment with colour changes")
    gradientAccumulationSteps: int | None = _opt("Gradient accumulation steps", ge=1, le=1024)
    noiseOffset: float | None = _opt("Noise offset, 0–1", ge=0, le=1)

    @field_validator("learningRate")
    @classmethod
    def _learning_rate_range(cls, value: str) -> str:
        number = _as_decimal(value)
        if not LEARNING_RATE_MIN <= number <= LEARNING_RATE_MAX:
            raise rule_error(f"must be between 0.0000001 and 0.0001 (got {value})")
        return value

    @field_validator("textEncoderLr", "unetLr")
    @classmethod
    def _positive_rate(cls, value: str | None) -> str | None:
        if value is not None and not _as_decimal(value) > 0:
            raise rule_error(f"must be a number > 0 (got {value})")
        return value

    @model_validator(mode="after")
    def _buckets_ordered(self) -> ImgOpenFineTune:
        if (
            self.minBucketReso is not None
            and self.maxBucketReso is not None
            and self.minBucketReso > self.maxBucketReso
        ):
            raise_rule_errors(
                type(self).__name__,
                [
                    RuleError(
                        ("minBucketReso",),
                        f"must be ≤ maxBucketReso = {self.maxBucketReso} (got {self.minBucketReso})",
                        self.minBucketReso,
                    )
                ],
            )
        return self

    def training_request(self) -> dict[str, object]:
        """The training fields of the submit body (without taskId and fileUrlList), unset ones omitted."""
        return self.model_dump(mode="json", exclude={"provider", "dataset"}, exclude_none=True)


def _as_decimal(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise rule_error(f"must be a number (got {value!r})") from None
    if not number.is_finite():
        raise rule_error(f"must be a finite number (got {value!r})")
    return number
