"""ImgOpen (api.zhiqite.com): the HTTP client, deterministic task ids, the adapter.

The training-result endpoint is undocumented; its inferred shape lives only in `result_endpoint`.

Names are imported on first use, so `imgopen.economics` (prices, quotas: what an offline plan
needs) loads without the HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.providers.imgopen.adapter import ImgOpenAdapter
    from reconciler.providers.imgopen.client import ImgOpenClient
    from reconciler.providers.imgopen.envelopes import DuplicateTaskError
    from reconciler.providers.imgopen.result_endpoint import RESULT_PATH, TrainingStatus
    from reconciler.providers.imgopen.task_ids import task_id
    from reconciler.providers.imgopen.types import ResultState, SubmitResult, TrainingResult

_LAZY = {
    "ImgOpenAdapter": "reconciler.providers.imgopen.adapter",
    "ImgOpenClient": "reconciler.providers.imgopen.client",
    "DuplicateTaskError": "reconciler.providers.imgopen.envelopes",
    "RESULT_PATH": "reconciler.providers.imgopen.result_endpoint",
    "TrainingStatus": "reconciler.providers.imgopen.result_endpoint",
    "task_id": "reconciler.providers.imgopen.task_ids",
    "ResultState": "reconciler.providers.imgopen.types",
    "SubmitResult": "reconciler.providers.imgopen.types",
    "TrainingResult": "reconciler.providers.imgopen.types",
}

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


def __getattr__(attr: str) -> Any:
    module = _LAZY.get(attr)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
    value = getattr(importlib.import_module(module), attr)
    globals()[attr] = value
    return value
