"""ImgOpen (api.zhiqite.com): the HTTP client, deterministic task ids, the adapter.

The training-result endpoint is undocumented; its inferred shape lives only in `result_endpoint`.
"""

from __future__ import annotations

from reconciler.providers.imgopen.adapter import ImgOpenAdapter
from reconciler.providers.imgopen.client import ImgOpenClient
from reconciler.providers.imgopen.envelopes import DuplicateTaskError
from reconciler.providers.imgopen.result_endpoint import RESULT_PATH, TrainingStatus
from reconciler.providers.imgopen.task_ids import task_id
from reconciler.providers.imgopen.types import ResultState, SubmitResult, TrainingResult

__all__ = [
    "RESULT_PATH",
    "DuplicateTaskError",
    "ImgOpenAdapter",
    "ImgOpenClient",
    "ResultState",
    "SubmitResult",
    "TrainingResult",
    "TrainingStatus",
    "task_id",
]
