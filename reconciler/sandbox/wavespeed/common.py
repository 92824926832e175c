"""Facts shared by every WaveSpeed endpoint the sandbox emulates (providers.md §2).

The `{code, message, data}` envelope, time formats, the URLs the emulator hands out (built
from the request's Host, so they work in process and over `sandbox serve` alike), retention and
emulated durations. Durations are *emulated* seconds; the sandbox divides them by its time
scale. Retention (7 days) is wall time on the sandbox clock and is not scaled, like the
real provider's calendar.

Where the documents leave a choice, `ctx.documented` (fidelity "documented") picks the least
helpful documented answer; `fidelity.py` lists every such behaviour with its source.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Any

from reconciler.models.state import iso_utc
from reconciler.sandbox.routing import Context, Response

API = "/api/v3"
FILES = "/sandbox-files/wavespeed"  # pre-signed uploads, media and LoRA outputs: no bearer key needed

RETENTION_S = 7 * 24 * 3600.0  # uploads and output URLs are kept 7 days [doc]
HISTORY_WINDOW_S = 7 * 24 * 3600.0  # history covers the last 7 days [doc]
BRONZE_CONCURRENCY = 3  # Bronze tier: 3 concurrent tasks [doc] (permissive: a 4th submit answers 429)
# Documented mode: the newer account-levels page says Bronze runs 2 at a time and "if you submit a
# 3rd, it will wait until one finishes" [doc] — queued as `created`, not refused.
BRONZE_CONCURRENCY_DOCUMENTED = 2
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
# Documented mode: `created` ("Task received and queued" [doc]) lasts longer before `processing`.
# How long a real trainer queues is undocumented: the figure is a guess.
DOCUMENTED_QUEUE_S = 120.0


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


def iso_ns(t: float) -> str:
    """'2025-05-19T06:09:15.948268264Z': the nanosecond precision the history page shows [doc]."""
    whole = math.floor(t)
    nanos = min(int(round((t - whole) * 1e9)), 999_999_999)
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def signature(ctx: Context, *parts: str) -> str:
    """A deterministic stand-in for a pre-signed URL's signature."""
    return hashlib.sha256("|".join((str(ctx.seed), "wavespeed", *parts)).encode()).hexdigest()[:32]
