"""WaveSpeed LoRA inference models (seeds 001 and 004): submit, and the rendered media.

`POST /api/v3/wavespeed-ai/wan-2.2/t2v-720p-lora-ultra-fast` and
`POST /api/v3/wavespeed-ai/qwen-image/edit-plus-lora` validate the body exactly as the seeds'
parameter tables document it (required fields, enums, ranges, at most 3 LoRAs per list with scale
0–4, at most 3 images): a violation is HTTP 400 with a message, nothing is created. An accepted
submit is a prediction like a trainer's (same table, timeline, result, history and delete routes,
same Bronze-tier queueing), answered with the seeds' response shape (`outputs` empty until
`completed`, then one URL).

Guesses (no document says): how long a render queues and runs (`RENDER_S`); that a LoRA `path`
pointing at this sandbox's own trainer outputs must still exist when the render starts (else the
prediction fails, like a trainer's missing `data`); the rendered bytes — a tiny real H.264 MP4
(t2v) or a JPEG/PNG/WebP (edit) checked in beside this module, so browsers can show them;
`enable_sync_mode` is accepted and ignored (the answer is the same as polling's first read).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from reconciler.models.wavespeed_tables import (
    LORA_SCALE_MAX,
    MAX_LORAS,
    OUTPUT_FORMATS,
    QWEN_EDIT,
    QWEN_MAX_IMAGES,
    QWEN_SIDE_MAX,
    QWEN_SIDE_MIN,
    SEED_MAX,
    TRAINER_NAMESPACE,
    WAN_DURATIONS,
    WAN_SIZES,
    WAN_T2V,
)
from reconciler.sandbox.faults import effective_seed, job_failure
from reconciler.sandbox.routing import ApiError, Context, Response, Route
from reconciler.sandbox.wavespeed.common import (
    API,
    BRONZE_CONCURRENCY,
    BRONZE_CONCURRENCY_DOCUMENTED,
    DOCUMENTED_QUEUE_S,
    FILES,
    QUEUE_S,
    ok,
    scaled,
)

MEDIA_DIR = Path(__file__).parent.parent / "sample_media"  # shared with the DashScope previews
# emulated seconds per render (a guess; "ultra fast" t2v and an image edit both take under a minute)
RENDER_S = {WAN_T2V: 40.0, QWEN_EDIT: 8.0}
_WAN_KEYS = frozenset(
    {"prompt", "negative_prompt", "size", "duration", "loras", "high_noise_loras", "low_noise_loras", "seed"}
)
_QWEN_KEYS = frozenset(
    {"prompt", "images", "size", "loras", "seed", "output_format", "enable_base64_output", "enable_sync_mode"}
)


def _bad(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{key} must be an integer (got {value!r})")
    return value


def _loras(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise _bad(f"{key} must be an array")
    if len(value) > MAX_LORAS:
        raise _bad(f"{key} accepts at most {MAX_LORAS} items (got {len(value)})")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _bad(f"{key}[{i}] must be an object with path and scale")
        path, scale = item.get("path"), item.get("scale")
        if not isinstance(path, str) or not path.strip():
            raise _bad(f"{key}[{i}].path is required")
        if isinstance(scale, bool) or not isinstance(scale, int | float):
            raise _bad(f"{key}[{i}].scale is required and must be a number")
        if not 0.0 <= scale <= LORA_SCALE_MAX:
            raise _bad(f"{key}[{i}].scale must be between 0.0 and {LORA_SCALE_MAX} (got {scale})")
        unknown = sorted(set(item) - {"path", "scale"})
        if unknown:
            raise _bad(f"{key}[{i}]: unknown field(s) {', '.join(unknown)}")
        out.append({"path": path, "scale": float(scale)})
    return out


def _prompt(body: dict[str, Any]) -> str:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _bad("prompt is required")
    return prompt


def _seed(body: dict[str, Any]) -> int:
    seed = _int(body, "seed", -1)
    if not -1 <= seed <= SEED_MAX:
        raise _bad(f"seed must be between -1 and {SEED_MAX} (got {seed})")
    return seed


def validate_wan(body: dict[str, Any]) -> dict[str, Any]:
    """Seed 001's parameter table: the effective input (defaults filled in)."""
    _unknown(body, _WAN_KEYS)
    size = body.get("size", WAN_SIZES[0])
    if size not in WAN_SIZES:
        raise _bad(f"size must be one of {', '.join(WAN_SIZES)} (got {size!r})")
    duration = _int(body, "duration", WAN_DURATIONS[0])
    if duration not in WAN_DURATIONS:
        raise _bad(f"duration must be 5 or 8 (got {duration})")
    negative = body.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise _bad("negative_prompt must be a string")
    out: dict[str, Any] = {"prompt": _prompt(body), "size": size, "duration": duration, "seed": _seed(body)}
    if negative is not None:
        out["negative_prompt"] = negative
    for key in ("loras", "high_noise_loras", "low_noise_loras"):
        out[key] = _loras(body, key)
    return out


def validate_qwen(body: dict[str, Any]) -> dict[str, Any]:
    """Seed 004's parameter table: the effective input (defaults filled in)."""
    _unknown(body, _QWEN_KEYS)
    images = body.get("images")
    if not isinstance(images, list) or not images or not all(isinstance(i, str) and i for i in images):
        raise _bad("images is required: an array of 1 to 3 image URLs")
    if len(images) > QWEN_MAX_IMAGES:
        raise _bad(f"images accepts at most {QWEN_MAX_IMAGES} items (got {len(images)})")
    out: dict[str, Any] = {"prompt": _prompt(body), "images": images, "seed": _seed(body)}
    size = body.get("size")
    if size is not None:
        width, _, height = str(size).partition("*")
        if not (width.isdigit() and height.isdigit()):
            raise _bad(f"size must be width*height (got {size!r})")
        if not all(QWEN_SIDE_MIN <= int(s) <= QWEN_SIDE_MAX for s in (width, height)):
            raise _bad(f"size must be between {QWEN_SIDE_MIN} and {QWEN_SIDE_MAX} per dimension (got {size})")
        out["size"] = size
    fmt = body.get("output_format", "jpeg")
    if fmt not in OUTPUT_FORMATS:
        raise _bad(f"output_format must be one of {', '.join(OUTPUT_FORMATS)} (got {fmt!r})")
    out["output_format"] = fmt
    for key in ("enable_base64_output", "enable_sync_mode"):
        value = body.get(key, False)
        if not isinstance(value, bool):
            raise _bad(f"{key} must be a boolean")
        out[key] = value
    if out["enable_base64_output"]:
        # the seed: "the output will be encoded into a BASE64 string instead of a URL" — the sandbox
        # does not emulate base64 outputs, and says so rather than answering with a URL anyway
        raise _bad("enable_base64_output is not emulated by the sandbox; leave it false")
    out["loras"] = _loras(body, "loras")
    return out


def _unknown(body: dict[str, Any], accepted: frozenset[str]) -> None:
    unknown = sorted(set(body) - accepted)
    if unknown:
        raise _bad(f"Unknown parameter(s): {', '.join(unknown)} (accepted: {', '.join(sorted(accepted))})")


def _lora_problem(ctx: Context, inputs: dict[str, Any]) -> str | None:
    """A LoRA path that points at this sandbox's outputs must still be served (a guess)."""
    from reconciler.sandbox.wavespeed.predictions import COMPLETED, load

    prefix = f"{FILES}/outputs/"
    for key in ("loras", "high_noise_loras", "low_noise_loras"):
        for item in inputs.get(key, []):
            path = unquote(urlsplit(item["path"]).path)
            if not path.startswith(prefix):
                continue
            prediction_id, _, name = path[len(prefix) :].partition("/")
            p = load(ctx, prediction_id)
            if (
                p is None
                or p.status(ctx.now) != COMPLETED
                or p.outputs_expired(ctx.now)
                or name not in json.loads(p.row["outputs"])
            ):
                return f"Failed to load LoRA from {item['path']}: HTTP 404"
    return None


def _submit(ctx: Context, model: str, inputs: dict[str, Any]) -> Response:
    from reconciler.sandbox.wavespeed.predictions import ACTIVE, Prediction, _start, load, view

    if ctx.documented:
        queue_s = (
            _start(ctx, ctx.now + scaled(ctx, DOCUMENTED_QUEUE_S), BRONZE_CONCURRENCY_DOCUMENTED) - ctx.now
        )
    else:
        active = sum(
            1
            for r in ctx.store.query("SELECT * FROM wavespeed_predictions WHERE deleted IS NULL")
            if Prediction(r).status(ctx.now) in ACTIVE
        )
        if active >= BRONZE_CONCURRENCY:
            raise ApiError(
                429,
                "TooManyRequests",
                f"Too Many Requests: your account tier allows {BRONZE_CONCURRENCY} concurrent tasks",
            )
        queue_s = scaled(ctx, QUEUE_S)
    seq = ctx.store.next_counter("wavespeed_prediction")
    prediction_id = ctx.store.token(ctx.seed, "wavespeed_prediction", 32)
    problem = _lora_problem(ctx, inputs)
    fail_fraction: float | None
    error: str | None
    if problem is not None:
        fail_fraction, error = 0.0, problem
    else:
        fail_fraction = job_failure(ctx.faults, effective_seed(ctx.faults, ctx.seed), seq)
        error = ctx.faults.fail_message if fail_fraction is not None else None
    name = f"{prediction_id}.mp4" if model == WAN_T2V else f"{prediction_id}.{inputs['output_format']}"
    ctx.store.execute(
        "INSERT INTO wavespeed_predictions (id, seq, model, input, created, queue_s, run_s, fail_fraction, error,"
        " outputs, webhook) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            prediction_id,
            seq,
            f"{TRAINER_NAMESPACE}/{model}",
            json.dumps(inputs),
            ctx.now,
            queue_s,
            scaled(ctx, RENDER_S[model]),
            fail_fraction,
            error,
            json.dumps([name]),
            ctx.request.arg("webhook"),
        ),
    )
    p = load(ctx, prediction_id)
    assert p is not None
    return ok(view(ctx, p))


def submit_wan(ctx: Context) -> Response:
    return _submit(ctx, WAN_T2V, validate_wan(ctx.request.json_object()))


def submit_qwen(ctx: Context) -> Response:
    return _submit(ctx, QWEN_EDIT, validate_qwen(ctx.request.json_object()))


def is_render(model: str) -> bool:
    return model in (f"{TRAINER_NAMESPACE}/{WAN_T2V}", f"{TRAINER_NAMESPACE}/{QWEN_EDIT}")


def media_bytes(name: str) -> tuple[bytes, str]:
    """The rendered file for an output name, and its content type."""
    ext = name.rsplit(".", 1)[-1]
    files = {"mp4": ("t2v.mp4", "video/mp4"), "jpeg": ("edit.jpeg", "image/jpeg")}
    files |= {"png": ("edit.png", "image/png"), "webp": ("edit.webp", "image/webp")}
    filename, content_type = files[ext]
    return (MEDIA_DIR / filename).read_bytes(), content_type


def routes() -> list[Route]:
    # before the trainers' one-segment `{trainer}` route; these paths have two segments anyway
    return [
        Route("POST", f"{API}/{TRAINER_NAMESPACE}/{WAN_T2V}", submit_wan),
        Route("POST", f"{API}/{TRAINER_NAMESPACE}/{QWEN_EDIT}", submit_qwen),
    ]
