"""Facts shared by every WaveSpeed endpoint the sandbox emulates (providers.md §2).

The `{code, message, data}` envelope, time formats, the URLs the emulator hands out (built
from the request's Host, so they work in process and over `sandbox serve` alike), retention and
emulated durations. Durations are *emulated* seconds; the sandbox divides them by its time
scale. Retention (7 days) is wall time on the sandbox clock and is not scaled, like the
real provider's calendar.
"""

from __future__ import annotations

import hashlib
from typing import Any

from reconciler.models.state import iso_utc
from reconciler.sandbox.routing import Context, Response

API = "/api/v3"
FILES = "/sandbox-files/wavespeed"  # pre-signed uploads, media and LoRA outputs: no bearer key needed

RETENTION_S = 7 * 24 * 3600.0  # uploads and output URLs are kept 7 days [doc]
HISTORY_WINDOW_S = 7 * 24 * 3600.0  # history covers the last 7 days [doc]
BRONZE_CONCURRENCY = 3  # Bronze tier: 3 concurrent tasks [doc]
HISTORY_MAX_PAGE_SIZE = 100

# Emulated trainer speed (seconds per step) and queueing before a task starts.
SECONDS_PER_STEP = {
    "wan-2.2-image-lora-trainer": 1.2,  # 1000 steps ≈ 20 min
    "wan-2.2-i2v-lora-trainer": 12.0,  # video: 100 steps ≈ 20 min
    "qwen-image-lora-trainer": 0.9,
    "flux-dev-lora-trainer": 0.6,
    "flux-dev-lora-trainer-turbo": 0.3,
    "wan-2.1-14b-lora-trainer": 0.9,
}
QUEUE_S = 10.0


def scaled(ctx: Context, emulated_seconds: float) -> float:
    return emulated_seconds / ctx.time_scale


def ok(data: Any, status: int = 200) -> Response:
    return Response.json(status, {"code": 200, "message": "success", "data": data})


def base_url(ctx: Context) -> str:
    """Where the client reached us: the URLs we hand out must lead back here."""
    host = ctx.request.headers.get("host") or "127.0.0.1"
    return f"http://{host}"


def iso(t: float) -> str:
    """'2025-09-25T09:12:48.239Z', as the seed shows `created_at`."""
    return iso_utc(t)


def signature(ctx: Context, *parts: str) -> str:
    """A deterministic stand-in for a pre-signed URL's signature."""
    return hashlib.sha256("|".join((str(ctx.seed), "wavespeed", *parts)).encode()).hexdigest()[:32]
