"""The submitTraining/Job body rules of the seed's field table (providers.md §3.1), checked like the API.

Pure validation: given the request body, return the effective training fields (documented
defaults filled in) or raise the `ApiError` ImgOpen's envelope carries (code "400"). Unknown keys
are refused — including the seed example's snake_case spellings — so a client that sends names
the field table does not list fails loudly here instead of training with defaults.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from reconciler.sandbox.routing import ApiError

MIN_IMAGES, MAX_IMAGES = 10, 100
MAX_TASK_ID = 64  # [inf] undocumented; the reconciler's ids are at most 64 characters

DEFAULTS: dict[str, Any] = {
    "maxEpochs": 20,
    "batchSize": 1,
    "learningRate": "0.00001",
    "maxTokenLength": 225,
    "clipSkip": 1,
    "pretrainedModel": "v1-5-pruned-emaonly",
    "repeats": 10,
}
INT_RANGES: dict[str, tuple[int, int]] = {
    "maxEpochs": (10, 50),
    "batchSize": (1, 4),
    "clipSkip": (1, 5),
    "repeats": (1, 30),
    "numCpuThreadsPerProcess": (1, 20),
    "lrWarmupSteps": (0, 100),
}
POSITIVE_INTS = frozenset(
    {
        "resolution",
        "minBucketReso",
        "maxBucketReso",
        "networkDim",
        "networkAlpha",
        "gradientAccumulationSteps",
    }
)
ANY_INTS = frozenset({"seed"})
INT_CHOICES: dict[str, tuple[int, ...]] = {"maxTokenLength": (0, 150, 225)}
BOOLS = frozenset(
    {"randomCrop", "cacheLatents", "cacheLatentsToDisk", "enableBucket", "v2", "flipAug", "colorAug"}
)
STRINGS = frozenset({"pretrainedModel", "lrScheduler", "networkModule", "networkArgs"})
STRING_CHOICES: dict[str, tuple[str, ...]] = {
    "mixedPrecision": ("fp16", "bf16"),
    "savePrecision": ("fp16", "bf16", "float"),
    "optimizerType": (
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
    ),
}
# Rates travel as strings "to prevent precision loss"; learningRate has a documented range.
DECIMAL_STRINGS: dict[str, tuple[Decimal, Decimal] | None] = {
    "learningRate": (Decimal("0.0000001"), Decimal("0.0001")),
    "textEncoderLr": None,
    "unetLr": None,
}
UNIT_NUMBERS = frozenset({"networkDropout", "rankDropout", "moduleDropout", "noiseOffset"})

TRAINING_FIELDS = frozenset(
    set(INT_RANGES)
    | POSITIVE_INTS
    | ANY_INTS
    | set(INT_CHOICES)
    | BOOLS
    | STRINGS
    | set(STRING_CHOICES)
    | set(DECIMAL_STRINGS)
    | UNIT_NUMBERS
)
BODY_KEYS = TRAINING_FIELDS | {"taskId", "fileUrlList"}


def bad(message: str) -> ApiError:
    """A refused request: ImgOpen answers HTTP 200 with code "400" in the envelope [inf]."""
    return ApiError(200, "400", message)


def task_id_of(body: dict[str, Any]) -> str:
    value = body.get("taskId")
    if not isinstance(value, str) or not value.strip():
        raise bad("taskId is required")
    if len(value) > MAX_TASK_ID:
        raise bad(f"taskId must be at most {MAX_TASK_ID} characters (got {len(value)})")
    return value


def file_urls_of(body: dict[str, Any]) -> list[str]:
    urls = body.get("fileUrlList")
    if urls is None:
        raise bad("fileUrlList is required")
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise bad("fileUrlList must be an array of image URLs")
    if not MIN_IMAGES <= len(urls) <= MAX_IMAGES:
        raise bad(f"the number of images must be {MIN_IMAGES}-{MAX_IMAGES} (got {len(urls)})")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad(f"fileUrlList must hold public http(s) URLs (got {url!r})")
    return list(urls)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(name: str, value: Any) -> Any:
    if name in INT_RANGES:
        lo, hi = INT_RANGES[name]
        if not _is_int(value) or not lo <= value <= hi:
            raise bad(f"{name} must be an integer in {lo}-{hi} (got {value!r})")
    elif name in POSITIVE_INTS:
        if not _is_int(value) or value < 1:
            raise bad(f"{name} must be a positive integer (got {value!r})")
    elif name in ANY_INTS:
        if not _is_int(value):
            raise bad(f"{name} must be an integer (got {value!r})")
    elif name in INT_CHOICES:
        if not _is_int(value) or value not in INT_CHOICES[name]:
            raise bad(f"{name} must be one of {', '.join(map(str, INT_CHOICES[name]))} (got {value!r})")
    elif name in BOOLS:
        if not isinstance(value, bool):
            raise bad(f"{name} must be a boolean (got {value!r})")
    elif name in STRINGS:
        if not isinstance(value, str) or (name == "pretrainedModel" and not value.strip()):
            raise bad(f"{name} must be a string (got {value!r})")
    elif name in STRING_CHOICES:
        if value not in STRING_CHOICES[name]:
            raise bad(f"{name} must be one of {', '.join(STRING_CHOICES[name])} (got {value!r})")
    elif name in DECIMAL_STRINGS:
        _check_decimal_string(name, value, DECIMAL_STRINGS[name])
    elif name in UNIT_NUMBERS and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
    ):
        raise bad(f"{name} must be a number in 0-1 (got {value!r})")
    return value


def _check_decimal_string(name: str, value: Any, bounds: tuple[Decimal, Decimal] | None) -> None:
    if not isinstance(value, str):
        raise bad(f"{name} must be passed as a string to prevent precision loss (got {value!r})")
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise bad(f"{name} must be a decimal number in a string (got {value!r})") from None
    if not number.is_finite() or number <= 0:
        raise bad(f"{name} must be a positive number (got {value!r})")
    if bounds is not None and not bounds[0] <= number <= bounds[1]:
        raise bad(f"{name} must be in {format(bounds[0], 'f')} - {format(bounds[1], 'f')} (got {value})")


def training_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The effective training fields: every given one checked, documented defaults filled in."""
    unknown = sorted(set(body) - BODY_KEYS)
    if unknown:
        raise bad(
            f"Unknown parameter(s): {', '.join(unknown)} (the API takes the camelCase names of its field table, "
            "e.g. fileUrlList, maxEpochs, batchSize, learningRate)"
        )
    fields = dict(DEFAULTS)
    for name in sorted(TRAINING_FIELDS):
        if name in body and body[name] is not None:
            fields[name] = _check(name, body[name])
    lo, hi = fields.get("minBucketReso"), fields.get("maxBucketReso")
    if lo is not None and hi is not None and lo > hi:
        raise bad(f"minBucketReso ({lo}) must not exceed maxBucketReso ({hi})")
    return fields
