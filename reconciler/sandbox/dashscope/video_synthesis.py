"""DashScope video synthesis with a deployed Wan LoRA, and its async tasks (providers.md §1.7).

- `POST /api/v1/services/aigc/video-generation/video-synthesis` (first frame: `input.img_url`) and
  `POST /api/v1/services/aigc/image2video/video-synthesis` (first + last frame:
  `input.first_frame_url`, `input.last_frame_url`), with `X-DashScope-Async: enable`; body
  `{"model": <deployed_model>, "input": {...}, "parameters": {"resolution", "prompt_extend"}}` →
  `output: {task_id, task_status}` [doc].
- `GET /api/v1/tasks/{task_id}` → `output.task_status` PENDING / RUNNING / SUCCEEDED / FAILED, and
  UNKNOWN for an id that does not exist [doc][sdk]; `output.video_url` once SUCCEEDED, valid 24 h.

There is no documented way to list tasks, so nothing here offers one.

Guesses (no document says): the refusal of a call without the async header (403 AccessDenied,
"current user api does not support synchronous calls", the wording DashScope uses for its other
async-only models), of a model that is not a RUNNING deployment (400 InvalidParameter), the task's
durations, and the video's bytes (a tiny real MP4).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.models.dashscope_samples import RESOLUTIONS
from reconciler.sandbox.dashscope.common import NATIVE, ok, scaled
from reconciler.sandbox.dashscope.deployments import _live, status_at
from reconciler.sandbox.faults import effective_seed, job_failure
from reconciler.sandbox.routing import ApiError, Context, Response, Route

I2V_PATH = f"{NATIVE}/services/aigc/video-generation/video-synthesis"
KF2V_PATH = f"{NATIVE}/services/aigc/image2video/video-synthesis"
VIDEOS = "/sandbox-files/dashscope/videos"  # stands for the signed storage host: no API key
QUEUE_S, RENDER_S = 20.0, 120.0  # emulated seconds (a guess)
VIDEO_URL_TTL_S = 24 * 3600.0  # "video_url expires after 24 h" [doc]

SCHEMA = """
CREATE TABLE IF NOT EXISTS dashscope_tasks (
    task_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    model TEXT NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    failed TEXT
)
"""


def _bad(message: str) -> ApiError:
    return ApiError(400, "InvalidParameter", message)


def _submit(ctx: Context, kf2v: bool) -> Response:
    if (ctx.request.headers.get("x-dashscope-async") or "").lower() != "enable":
        raise ApiError(403, "AccessDenied", "current user api does not support synchronous calls")
    body = ctx.request.json_object()
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("Missing model")
    row = _live(ctx, model)
    if row is None or status_at(row, ctx.now) != "RUNNING":
        raise _bad(f"Model {model} is not a running deployment")
    base = row["base_model"]
    takes_kf2v = base.startswith("wan2.2-kf2v")
    if kf2v != takes_kf2v:
        right = KF2V_PATH if takes_kf2v else I2V_PATH
        raise _bad(f"{model} ({base}) is served by {right}")
    given = body.get("input")
    if not isinstance(given, dict):
        raise _bad("input is required")
    keys = ("first_frame_url", "last_frame_url") if kf2v else ("img_url",)
    for key in keys:
        if not isinstance(given.get(key), str) or not given[key]:
            raise _bad(f"input.{key} is required")
    unknown = sorted(set(given) - {*keys, "prompt"})
    if unknown:
        raise _bad(f"input: unknown field(s) {', '.join(unknown)}")
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise _bad("parameters must be an object")
    resolution = params.get("resolution", "720P")
    allowed = RESOLUTIONS.get(base, ("480P", "720P"))
    if resolution not in allowed:
        raise _bad(
            f"parameters.resolution must be one of {', '.join(allowed)} for {base} (got {resolution!r})"
        )
    if not isinstance(params.get("prompt_extend", False), bool):
        raise _bad("parameters.prompt_extend must be a boolean")
    seq = ctx.store.next_counter("dashscope_task")
    h = ctx.store.token(ctx.seed, "dashscope_task", 32)
    task_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    start = ctx.now + scaled(ctx, QUEUE_S)
    fail = job_failure(ctx.faults, effective_seed(ctx.faults, ctx.seed), seq)
    end = start + scaled(ctx, RENDER_S) * (1.0 if fail is None else fail)
    ctx.store.execute(
        "INSERT INTO dashscope_tasks (task_id, seq, model, body, created, start, end, failed) VALUES (?,?,?,?,?,?,?,?)",
        (
            task_id,
            seq,
            model,
            json.dumps(body),
            ctx.now,
            start,
            end,
            ctx.faults.fail_message if fail is not None else None,
        ),
    )
    return ok(ctx, {"task_id": task_id, "task_status": "PENDING"})


def submit_i2v(ctx: Context) -> Response:
    return _submit(ctx, kf2v=False)


def submit_kf2v(ctx: Context) -> Response:
    return _submit(ctx, kf2v=True)


def _status(row: dict[str, Any], now: float) -> str:
    if now < row["start"]:
        return "PENDING"
    if now < row["end"]:
        return "RUNNING"
    return "FAILED" if row["failed"] else "SUCCEEDED"


def get_task(ctx: Context) -> Response:
    task_id = ctx.params["task_id"]
    row = ctx.store.one("SELECT * FROM dashscope_tasks WHERE task_id = ?", (task_id,))
    if row is None:
        return ok(ctx, {"task_id": task_id, "task_status": "UNKNOWN"})  # [doc][sdk]
    status = _status(row, ctx.now)
    out: dict[str, Any] = {"task_id": task_id, "task_status": status}
    if status == "SUCCEEDED":
        host = ctx.request.headers.get("host") or "127.0.0.1"
        expires = int(row["end"] + VIDEO_URL_TTL_S)
        out["video_url"] = f"http://{host}{VIDEOS}/{task_id}.mp4?Expires={expires}"
    elif status == "FAILED":
        out.update(code="InternalError", message=row["failed"])
    return ok(ctx, out)


def video_file(ctx: Context) -> Response:
    from reconciler.sandbox.wavespeed.inference import media_bytes

    name = ctx.params["filename"]
    row = ctx.store.one("SELECT * FROM dashscope_tasks WHERE task_id = ?", (name.removesuffix(".mp4"),))
    expires = ctx.request.arg("Expires")
    fresh = expires is not None and expires.isdigit() and ctx.now < int(expires)
    if row is None or _status(row, ctx.now) != "SUCCEEDED" or not fresh:
        raise ApiError(404, "NoSuchKey", "The specified key does not exist (video URLs are valid for 24 h).")
    data, content_type = media_bytes("x.mp4")

    def once() -> Iterator[bytes]:
        yield data

    return Response(200, once(), [("Content-Type", content_type)], length=len(data))


def list_objects(ctx: Context) -> list[dict[str, Any]]:
    rows = ctx.store.query("SELECT * FROM dashscope_tasks ORDER BY created, seq")
    return [
        {
            "task_id": r["task_id"],
            "model": r["model"],
            "body": json.loads(r["body"]),
            "status": _status(r, ctx.now),
        }
        for r in rows
    ]


def routes() -> list[Route]:
    return [
        Route("POST", I2V_PATH, submit_i2v),
        Route("POST", KF2V_PATH, submit_kf2v),
        Route("GET", f"{NATIVE}/tasks/{{task_id}}", get_task),
        Route("GET", f"{VIDEOS}/{{filename}}", video_file),
    ]
