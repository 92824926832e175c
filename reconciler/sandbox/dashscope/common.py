"""Facts shared by every DashScope endpoint the sandbox emulates (providers.md §1).

The account identity, the base models and their hyper-parameter rules, time formats, the
success envelope and emulated durations. Durations are *emulated* seconds; the sandbox divides
them by its time scale when it schedules anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from reconciler.sandbox.routing import ApiError, Context, Response

# The emulated account (one per sandbox: every non-empty API key maps to it).
WORKSPACE_ID = "llm-sandbox0000000"
USER_ID = "1234567890123456"

CHINA_TZ = timezone(timedelta(hours=8))  # the service formats times in China Standard Time [inf]

NATIVE = "/api/v1"
COMPATIBLE = "/compatible-mode/v1"


@dataclass(frozen=True)
class WanModel:
    """A Wan base model that `/fine-tunes` accepts, with its documented hyper-parameter rules."""

    name: str
    batch_size: int  # "fixed" per model
    max_pixels_default: int
    max_pixels_range: tuple[int, int]
    seconds_per_step: float  # emulated; Wan 2.5 reference: ~5.5 h for 800 steps incl. post-processing


WAN_MODELS: dict[str, WanModel] = {
    m.name: m
    for m in (
        WanModel("wan2.6-i2v", 2, 36864, (16384, 36864), 24.0),
        WanModel("wan2.5-i2v-preview", 2, 36864, (16384, 36864), 24.0),
        WanModel("wan2.2-i2v-flash", 4, 262144, (65536, 262144), 16.0),
        WanModel("wan2.2-kf2v-flash", 4, 262144, (65536, 262144), 16.0),
    )
}

# Emulated durations (seconds, before the time scale).
JOB_PENDING_S = 60.0  # data processing before a job may run
JOB_POST_S = 1000.0  # transfer for inference + saving checkpoints (the seed's log shows ~17 min)
JOB_CANCEL_S = 30.0  # CANCELING -> CANCELED
EXPORT_PENDING_S = 30.0
EXPORT_PROCESSING_S = 180.0
DEPLOY_MIN_S, DEPLOY_MAX_S = 300.0, 600.0  # "5-10 minutes" [seed]
DEPLOY_SCALE_S = 120.0
DEPLOY_DELETE_S = 60.0
FILE_UPLOADED_S = 10.0  # documented fidelity: `uploaded` this long after the upload, then `processing`
FILE_PROCESSING_S = 50.0  # ... and `processing` this long before `processed` (the durations are a guess)
CHECKPOINT_TTL_S = 15 * 24 * 3600.0  # expire_time ≈ 15 days after creation [doc]; not time-scaled
TOKENS_PER_SAMPLE = 270  # usage = steps × batch_size × this (432000 for 800 steps of 2 in the seed)
DEFAULT_SAMPLES = 20  # when a dataset zip cannot be read


# The hyper-parameters seed 002's job objects echo (create, get and list all show these five, though the
# request sent max_pixels too). Documented fidelity echoes only these; permissive echoes every effective one.
SEED_ECHOED_HYPER_PARAMETERS = ("n_epochs", "batch_size", "learning_rate", "split", "eval_epochs")


def java_text(value: Any) -> Any:
    """A number as a Java service renders it in a string: 400 → '400', 2e-05 → '2.0E-5', 0.9 → '0.9'.

    Documented fidelity echoes hyper-parameters as strings (the list-jobs page shows
    `"learning_rate": "1.6e-5"`); `Double.toString` is the likeliest rendering of a Java backend
    whose JSON shows `2.0E-5` (seed 002). Anything that is not a number is returned unchanged.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, mag = ("-" if value < 0 else ""), abs(value)
    shortest = Decimal(repr(mag))
    if 1e-3 <= mag < 1e7:
        text = format(shortest, "f")
        return sign + (text if "." in text else text + ".0")
    mantissa, _, exponent = format(shortest.normalize(), "e").partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{sign}{mantissa}E{int(exponent)}"


def _ymd_hms(dt: datetime, sep: str) -> str:
    """`dt.strftime(f"%Y-%m-%d{sep}%H:%M:%S")`, without strftime's cost (a refresh lists every job
    and deployment of the account, each with two times); a year before 1000, which strftime may
    write unpadded, still goes through it."""
    if dt.year < 1000:
        return dt.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    # %-formatting: a third of the instructions of the f-string with format specs
    return "%04d-%02d-%02d%s%02d:%02d:%02d" % (dt.year, dt.month, dt.day, sep, dt.hour, dt.minute, dt.second)  # noqa: UP031


def fmt_time(t: float) -> str:
    """'2025-11-11 11:22:22' (fine-tune create_time / end_time)."""
    return _ymd_hms(datetime.fromtimestamp(t, CHINA_TZ), " ")


def fmt_iso(t: float, millis: bool = False) -> str:
    """'2025-11-11T17:46:53' or with milliseconds (deployments, checkpoints)."""
    dt = datetime.fromtimestamp(t, CHINA_TZ)
    text = _ymd_hms(dt, "T")
    return f"{text}.{dt.microsecond // 1000:03d}" if millis else text


def fmt_log(t: float) -> str:
    """'2025-11-11 11:23:37,315' (log lines)."""
    dt = datetime.fromtimestamp(t, CHINA_TZ)
    return f"{dt.strftime('%Y-%m-%d %H:%M:%S')},{dt.microsecond // 1000:03d}"


def fmt_compact_minute(t: float) -> str:
    return datetime.fromtimestamp(t, CHINA_TZ).strftime("%Y%m%d%H%M")


def parse_list_time(text: str) -> float:
    """The files list's `create_after`/`create_before` formats, in China time."""
    for fmt in ("%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=CHINA_TZ).timestamp()
        except ValueError:
            continue
    raise ApiError(
        400,
        "InvalidParameter",
        f"Invalid time {text!r}: use 20250306123000, 2025-11-12 10:10:10, 2025-11-12 or 20251112",
    )


def scaled(ctx: Context, emulated_seconds: float) -> float:
    return emulated_seconds / ctx.time_scale


def ok(ctx: Context, output: Any, status: int = 200) -> Response:
    return Response.json(status, {"request_id": ctx.request_id, "output": output})


def int_arg(ctx: Context, name: str, default: int, lo: int, hi: int) -> int:
    raw = ctx.request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"{name} must be an integer (got {raw!r})") from None
    if not lo <= value <= hi:
        raise ApiError(400, "InvalidParameter", f"{name} must be between {lo} and {hi} (got {value})")
    return value


def page(items: list[Any], page_no: int, page_size: int) -> list[Any]:
    start = (page_no - 1) * page_size
    return items[start : start + page_size]
