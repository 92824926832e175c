"""WaveSpeed: the HTTP client, its typed bodies, LoRA output parsing and webhook verification."""

from __future__ import annotations

from reconciler.providers.wavespeed.adapter import OUTPUT_RETENTION_S, UPLOAD_RETENTION_S, WaveSpeedAdapter
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
