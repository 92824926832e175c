"""WaveSpeed: the HTTP client, its typed bodies, LoRA output parsing and webhook verification.

Names are imported on first use, so `wavespeed.economics` (prices, quotas: what an offline plan
needs) loads without the HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.providers.wavespeed.adapter import (
        OUTPUT_RETENTION_S,
        UPLOAD_RETENTION_S,
        WaveSpeedAdapter,
    )
    from reconciler.providers.wavespeed.client import HISTORY_MAX_PAGE_SIZE, WaveSpeedClient
    from reconciler.providers.wavespeed.outputs import classify_url, parse_lora_outputs
    from reconciler.providers.wavespeed.types import (
        Prediction,
        PredictionPage,
        PredictionStatus,
        TrainerInputs,
        UploadedMedia,
        UploadTicket,
    )
    from reconciler.providers.wavespeed.webhooks import (
        WebhookVerificationError,
        check_webhook,
        sign_webhook,
        verify_webhook,
    )

_LAZY = {
    "OUTPUT_RETENTION_S": "reconciler.providers.wavespeed.adapter",
    "UPLOAD_RETENTION_S": "reconciler.providers.wavespeed.adapter",
    "WaveSpeedAdapter": "reconciler.providers.wavespeed.adapter",
    "HISTORY_MAX_PAGE_SIZE": "reconciler.providers.wavespeed.client",
    "WaveSpeedClient": "reconciler.providers.wavespeed.client",
    "classify_url": "reconciler.providers.wavespeed.outputs",
    "parse_lora_outputs": "reconciler.providers.wavespeed.outputs",
    "Prediction": "reconciler.providers.wavespeed.types",
    "PredictionPage": "reconciler.providers.wavespeed.types",
    "PredictionStatus": "reconciler.providers.wavespeed.types",
    "TrainerInputs": "reconciler.providers.wavespeed.types",
    "UploadedMedia": "reconciler.providers.wavespeed.types",
    "UploadTicket": "reconciler.providers.wavespeed.types",
    "WebhookVerificationError": "reconciler.providers.wavespeed.webhooks",
    "check_webhook": "reconciler.providers.wavespeed.webhooks",
    "sign_webhook": "reconciler.providers.wavespeed.webhooks",
    "verify_webhook": "reconciler.providers.wavespeed.webhooks",
}

__all__ = [
    "HISTORY_MAX_PAGE_SIZE",
    "OUTPUT_RETENTION_S",
    "UPLOAD_RETENTION_S",
    "Prediction",
    "PredictionPage",
    "PredictionStatus",
    "TrainerInputs",
    "UploadTicket",
    "UploadedMedia",
    "WaveSpeedAdapter",
    "WaveSpeedClient",
    "WebhookVerificationError",
    "check_webhook",
    "classify_url",
    "parse_lora_outputs",
    "sign_webhook",
    "verify_webhook",
]


def __getattr__(attr: str) -> Any:
    module = _LAZY.get(attr)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
    value = getattr(importlib.import_module(module), attr)
    globals()[attr] = value
    return value
