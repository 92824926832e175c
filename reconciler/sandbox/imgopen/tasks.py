"""ImgOpen training tasks: submitTraining/Job, the (inferred) result query, and the LoRA file.

A task's status is a pure function of persisted facts read at the request's `now`: it waits in
the queue, trains for a time derived from its parameters, and ends succeeded — or failed, if the
`fail_jobs` fault picked it. Nothing runs in the background. Durations are emulated seconds
divided by the sandbox's time scale when the task is stored:

    steps    = maxEpochs × ceil(images × repeats / batchSize)
    training = steps × SECONDS_PER_STEP × (resolution / 512)², then SAVE_S to write the LoRA

The result query follows the client's inference (`reconciler.providers.imgopen.result_endpoint`,
providers.md §3.2) — it cannot be imported from here (sibling layers), so the path and status
codes are repeated below and a test keeps both sides in step.

GUESSES, all of them (only the submit is documented): the result query and its status numbers,
the durations, the LoRA file, the error codes, and the duplicate-taskId answer (`submit`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from reconciler.sandbox.faults import effective_seed, job_failure
from reconciler.sandbox.imgopen import fields as rules
from reconciler.sandbox.imgopen.lora_files import FILE_NAME, FILES_PREFIX, file_path, lora_bytes
from reconciler.sandbox.routing import ApiError, Context, Response, Route

API_ROOT = "/AIGCImgOpenServ"
SUBMIT_PATH = f"{API_ROOT}/saas/modelTraining/submitTraining/Job"
RESULT_PATH = f"{API_ROOT}/saas/modelTraining/queryTrainingResult"  # inferred (providers.md §3.2)

# The inferred data.status codes (mirror of result_endpoint.TrainingStatus).
QUEUED, SUCCEEDED, TRAINING, FAILED = 1, 2, 3, 4

# Envelope codes this emulator answers with (HTTP 200 unless noted) [inf: only "200" is documented].
CODE_OK = "200"
CODE_BAD_REQUEST = "400"
CODE_UNAUTHORIZED = "401"
CODE_TASK_NOT_FOUND = "404"
CODE_TASK_EXISTS = "409"
TASK_EXISTS_MESSAGE = "taskId already exists"
# Documented fidelity: a duplicate taskId gets a refusal that does not say why (a guess, like any answer).
DOCUMENTED_DUPLICATE_MESSAGE = "submit failed"

# Emulated durations (seconds, before the time scale).
QUEUE_S = 120.0  # waiting for a GPU
SECONDS_PER_STEP = 1.2  # an SD 1.5 LoRA step at 512 px on one GPU
SAVE_S = 60.0  # writing and uploading the LoRA file
BASE_RESOLUTION = 512

SCHEMA = """
CREATE TABLE IF NOT EXISTS imgopen_tasks (
    task_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    created REAL NOT NULL,
    file_urls TEXT NOT NULL,
    fields TEXT NOT NULL,
    steps INTEGER NOT NULL,
    queue_s REAL NOT NULL,
    train_s REAL NOT NULL,
    save_s REAL NOT NULL,
    fail_fraction REAL,
    fail_message TEXT
)
"""


def ok(data: Any = None, msg: str = "success") -> Response:
    payload: dict[str, Any] = {"code": CODE_OK, "msg": msg}
    if data is not None:
        payload["data"] = data
    return Response.json(200, payload)


def steps_of(images: int, fields: dict[str, Any]) -> int:
    return int(fields["maxEpochs"] * math.ceil(images * fields["repeats"] / fields["batchSize"]))


def training_seconds(steps: int, fields: dict[str, Any]) -> float:
    scale = (fields.get("resolution") or BASE_RESOLUTION) / BASE_RESOLUTION
    return steps * SECONDS_PER_STEP * scale * scale


def status_at(row: dict[str, Any], now: float) -> int:
    start = row["created"] + row["queue_s"]
    if now < start:
        return QUEUED
    if row["fail_fraction"] is not None:
        return TRAINING if now < start + row["train_s"] * row["fail_fraction"] else FAILED
    return TRAINING if now < start + row["train_s"] + row["save_s"] else SUCCEEDED


def lora_url(ctx: Context, task_id: str) -> str:
    host = ctx.request.headers.get("host") or "127.0.0.1"
    return f"http://{host}{file_path(task_id)}"


def result_view(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    status = status_at(row, ctx.now)
    data: dict[str, Any] = {"taskId": row["task_id"], "status": status}
    if status == SUCCEEDED:
        data["loraUrl"] = lora_url(ctx, row["task_id"])
    elif status == FAILED:
        data["msg"] = row["fail_message"]
    return data


def _task(ctx: Context, task_id: str) -> dict[str, Any] | None:
    return ctx.store.one("SELECT * FROM imgopen_tasks WHERE task_id = ?", (task_id,))


# --- handlers --------------------------------------------------------------------------------
def submit(ctx: Context) -> Response:
    body = ctx.request.json_object()
    task_id = rules.task_id_of(body)
    if _task(ctx, task_id) is not None:  # "required and unique" [seed]; the answer to a repeat is a guess
        if ctx.documented:
            raise ApiError(200, CODE_BAD_REQUEST, DOCUMENTED_DUPLICATE_MESSAGE)
        raise ApiError(200, CODE_TASK_EXISTS, TASK_EXISTS_MESSAGE)
    urls = rules.file_urls_of(body)
    fields = rules.training_fields(body)
    steps = steps_of(len(urls), fields)
    seq = ctx.store.next_counter("imgopen_task")
    fail_fraction = job_failure(ctx.faults, effective_seed(ctx.faults, ctx.seed), seq)
    ctx.store.execute(
        "INSERT INTO imgopen_tasks (task_id, seq, created, file_urls, fields, steps, queue_s, train_s, save_s,"
        " fail_fraction, fail_message) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            task_id,
            seq,
            ctx.now,
            json.dumps(urls),
            json.dumps(fields),
            steps,
            QUEUE_S / ctx.time_scale,
            training_seconds(steps, fields) / ctx.time_scale,
            SAVE_S / ctx.time_scale,
            fail_fraction,
            ctx.faults.fail_message if fail_fraction is not None else None,
        ),
    )
    return ok()


def query_result(ctx: Context) -> Response:
    body = ctx.request.json_object()
    task_id = body.get("taskId")
    if not isinstance(task_id, str) or not task_id.strip():
        raise ApiError(200, CODE_BAD_REQUEST, "taskId is required")
    row = _task(ctx, task_id)
    if row is None:
        raise ApiError(200, CODE_TASK_NOT_FOUND, f"taskId {task_id} not found")
    return ok(result_view(ctx, row))


def lora_file(ctx: Context) -> Response:
    row = _task(ctx, ctx.params["task_id"])
    if row is None or status_at(row, ctx.now) != SUCCEEDED:
        raise ApiError(404, "NotFound", "No such file")
    data = lora_bytes(row["task_id"], json.loads(row["fields"]))
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("Content-Disposition", f'attachment; filename="{FILE_NAME}"'),
    ]
    return Response(status=200, body=data, headers=headers, length=len(data))


def list_objects(ctx: Context) -> list[dict[str, Any]]:
    rows = ctx.store.query("SELECT * FROM imgopen_tasks ORDER BY created, seq")
    return [
        {
            **result_view(ctx, r),
            "fileUrlList": json.loads(r["file_urls"]),
            "fields": json.loads(r["fields"]),
            "steps": r["steps"],
            "created": r["created"],
            "_deleted": False,  # ImgOpen documents no delete
        }
        for r in rows
    ]


def routes() -> list[Route]:
    return [
        Route("POST", SUBMIT_PATH, submit),
        Route("POST", RESULT_PATH, query_result),
        Route("GET", f"{FILES_PREFIX}/{{task_id}}/{FILE_NAME}", lora_file),
    ]
