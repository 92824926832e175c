"""The shapes the ImgOpen client takes and returns (providers.md §3), as plain frozen values.

The submit body's camelCase training fields are listed once here (`TRAINING_FIELDS`), so the
client can refuse an unknown or snake_case name before anything is sent — the seed's example
body mixes in snake_case (`max_epochs`, `file_url_list`), which the field table does not use.
The result of the (undocumented) training query is `TrainingResult`; how it is read off the wire
lives in `result_endpoint.py`, never here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

MIN_IMAGES, MAX_IMAGES = 10, 100  # fileUrlList: "the number of images is 10-100" [seed]

# Every optional training field of submitTraining/Job, in the order of the seed's field table.
TRAINING_FIELDS: tuple[str, ...] = (
    "maxEpochs",
    "batchSize",
    "learningRate",
    "maxTokenLength",
    "clipSkip",
    "randomCrop",
    "pretrainedModel",
    "repeats",
    "mixedPrecision",
    "savePrecision",
    "numCpuThreadsPerProcess",
    "seed",
    "cacheLatents",
    "cacheLatentsToDisk",
    "lrScheduler",
    "lrWarmupSteps",
    "optimizerType",
    "resolution",
    "enableBucket",
    "minBucketReso",
    "maxBucketReso",
    "textEncoderLr",
    "unetLr",
    "networkDropout",
    "rankDropout",
    "moduleDropout",
    "networkModule",
    "networkDim",
    "networkAlpha",
    "networkArgs",
    "v2",
    "flipAug",
    "colorAug",
    "gradientAccumulationSteps",
    "noiseOffset",
)

# Fields the API takes as strings "to prevent precision loss" (learningRate) or types as string.
DECIMAL_STRING_FIELDS: frozenset[str] = frozenset({"learningRate", "textEncoderLr", "unetLr"})


class ResultState(enum.Enum):
    """Where a training task stands, decoded from the inferred numeric status (see result_endpoint)."""

    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class SubmitResult:
    """The answer to submitTraining/Job.

    `already_existed` is True when ImgOpen answered that the taskId is taken. The taskId is the
    idempotency key, so that is either an earlier submit of ours (possibly an earlier attempt of
    this very call whose response was lost) or a task made from the same address and spec.
    """

    task_id: str
    already_existed: bool
    code: str
    message: str


@dataclass(frozen=True)
class TrainingResult:
    """One training task as the result query reports it."""

    task_id: str
    status: int  # the provider's numeric status, kept verbatim
    state: ResultState
    lora_url: str | None = None
    message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the `data` object as received


__all__ = [
    "DECIMAL_STRING_FIELDS",
    "MAX_IMAGES",
    "MIN_IMAGES",
    "TRAINING_FIELDS",
    "ResultState",
    "SubmitResult",
    "TrainingResult",
]
