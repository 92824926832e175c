"""WaveSpeed predictions for the LoRA trainers: submit, result, history, delete, output files.

Statuses follow providers.md §2.2 — created → processing → completed | failed — and are a pure
function of persisted facts (creation time, time-scaled queue and training durations from
`steps`, an injected or data-caused failure point) read at the request's `now`; nothing runs in
the background. Inputs are validated like the trainer pages document them (§2.5: HTTP 400 with a
message). The Bronze tier's 3 concurrent tasks are enforced at submit (HTTP 429 "Too Many
Requests"). A trainer's `data` that points at this sandbox's own media is checked when training
starts (missing/expired upload, not a zip, too few images/videos → the prediction fails with
a message); any other URL is taken on trust, since the sandbox is offline.

Documented fidelity (`ctx.documented`, see `fidelity.py` for every behaviour and its source):
- no answer carries the submitted `input`: not the submit or result response (seed 000's
  response table), not the history items (the predictions page's examples) — only the webhook
  payload shows it, and the sandbox delivers no webhooks;
- history pages are `{page, items}` (the newer example has no `total`), items without
  `has_nsfw_contents`, with nanosecond `created_at` as that page shows;
- a prediction stays `created` for DOCUMENTED_QUEUE_S before `processing` (a guess), and tasks
  over the Bronze cap (2) wait as `created` until a slot frees instead of answering 429 [doc].
  The schedule is fixed at submit: a deleted task keeps its slot until its scheduled end (guess).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from reconciler.models.state import parse_iso_utc
from reconciler.models.wavespeed_tables import TRAINER_NAMESPACE, TRAINERS, TrainerFacts
from reconciler.sandbox.faults import effective_seed, job_failure
from reconciler.sandbox.routing import ApiError, Context, Response, Route
from reconciler.sandbox.wavespeed.common import (
    API,
    BRONZE_CONCURRENCY,
    BRONZE_CONCURRENCY_DOCUMENTED,
    DOCUMENTED_QUEUE_S,
    FILES,
    HISTORY_MAX_PAGE_SIZE,
    HISTORY_WINDOW_S,
    QUEUE_S,
    RETENTION_S,
    SECONDS_PER_STEP,
    base_url,
    iso,
    iso_ns,
    ok,
    scaled,
    signature,
)
from reconciler.sandbox.wavespeed.media import live_upload, upload_id_of

CREATED, PROCESSING, COMPLETED, FAILED = "created", "processing", "completed", "failed"
ACTIVE = frozenset({CREATED, PROCESSING})
TRAINER_KEYS = frozenset({"data", "trigger_word", "steps", "learning_rate", "lora_rank"})
IMAGE_EXT = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
VIDEO_EXT = frozenset({".mp4", ".mov", ".webm", ".avi", ".mkv"})
HISTORY_KEYS = frozenset({"page", "page_size", "model", "status", "created_after", "created_before"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS wavespeed_predictions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    model TEXT NOT NULL,
    input TEXT NOT NULL,
    created REAL NOT NULL,
    queue_s REAL NOT NULL,
    run_s REAL NOT NULL,
    fail_fraction REAL,
    error TEXT,
    outputs TEXT NOT NULL,
    webhook TEXT,
    deleted REAL
);
CREATE INDEX IF NOT EXISTS wavespeed_predictions_created ON wavespeed_predictions(created, seq)
"""


def _bad(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


# --- the timeline ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prediction:
    row: dict[str, Any]

    @property
    def start(self) -> float:
        return float(self.row["created"] + self.row["queue_s"])

    @property
    def end(self) -> float:
        fraction = self.row["fail_fraction"]
        return float(self.start + self.row["run_s"] * (1.0 if fraction is None else fraction))

    @property
    def final(self) -> str:
        return FAILED if self.row["fail_fraction"] is not None else COMPLETED

    def status(self, now: float) -> str:
        if now < self.start:
            return CREATED
        if now < self.end:
            return PROCESSING
        return self.final

    def outputs_expired(self, now: float) -> bool:
        return self.final == COMPLETED and now >= self.end + RETENTION_S


def load(ctx: Context, prediction_id: str) -> Prediction | None:
    row = ctx.store.one(
        "SELECT * FROM wavespeed_predictions WHERE id = ? AND deleted IS NULL", (prediction_id,)
    )
    return Prediction(row) if row else None


def view(ctx: Context, p: Prediction, *, history: bool = False, with_input: bool = False) -> dict[str, Any]:
    """The prediction as the seed shows it; history items add `executionTime` (and, permissive
    only, the submitted `input`). `with_input` is for introspection, never for an API answer."""
    status = p.status(ctx.now)
    row = p.row
    root = base_url(ctx)
    outputs: list[str] = []
    if status == COMPLETED:
        outputs = [f"{root}{FILES}/outputs/{row['id']}/{name}" for name in json.loads(row["outputs"])]
    inference_ms = 0
    if status in (COMPLETED, FAILED):
        inference_ms = int(round((p.end - p.start) * 1000))
    out: dict[str, Any] = {
        "id": row["id"],
        "model": row["model"],
        "outputs": outputs,
        "urls": {"get": f"{root}{API}/predictions/{row['id']}/result"},
        "has_nsfw_contents": [False] * len(outputs),
        "status": status,
        "created_at": iso(row["created"]),
        "error": (row["error"] or "") if status == FAILED else "",
        "timings": {"inference": inference_ms},
    }
    if history:
        out["executionTime"] = inference_ms
        if ctx.documented:  # the predictions page's examples [doc]
            out["created_at"] = iso_ns(row["created"])
            del out["has_nsfw_contents"]
        else:
            out["input"] = json.loads(row["input"])
    if with_input:
        out["input"] = json.loads(row["input"])
    return out


# --- submit ------------------------------------------------------------------------------------
def _int(body: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{key} must be an integer (got {value!r})")
    if not lo <= value <= hi:
        raise _bad(f"{key} must be between {lo} and {hi} (got {value})")
    return value


def validate_inputs(facts: TrainerFacts, body: dict[str, Any]) -> dict[str, Any]:
    """The effective input: documented defaults filled in, documented ranges enforced (§2.5)."""
    unknown = sorted(set(body) - TRAINER_KEYS)
    if unknown:
        raise _bad(
            f"Unknown parameter(s): {', '.join(unknown)} (accepted: {', '.join(sorted(TRAINER_KEYS))})"
        )
    data = body.get("data")
    if not isinstance(data, str) or not data.strip():
        raise _bad("data is required: the URL of a zip file with the training images")
    if urlsplit(data).scheme not in ("http", "https") or not urlsplit(data).netloc:
        raise _bad(f"data must be an http(s) URL of a zip file (got {data[:100]!r})")
    trigger = body.get("trigger_word", "p3r5on")
    if not isinstance(trigger, str):
        raise _bad(f"trigger_word must be a string (got {trigger!r})")
    steps = _int(body, "steps", facts.steps_default, facts.steps_min, facts.steps_max)
    rate = body.get("learning_rate", facts.learning_rate_default)
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise _bad(f"learning_rate must be a number (got {rate!r})")
    if not 0 <= rate <= 1:
        raise _bad(f"learning_rate must be between 0 and 1 (got {rate})")
    rank = _int(body, "lora_rank", facts.lora_rank_default, facts.lora_rank_min, facts.lora_rank_max)
    return {
        "data": data,
        "trigger_word": trigger,
        "steps": steps,
        "learning_rate": float(rate),
        "lora_rank": rank,
    }


def _media_upload_of(url: str) -> str | None:
    """The upload id if `url` is one of this sandbox's media URLs (either form, media.py)."""
    return upload_id_of(unquote(urlsplit(url).path))


def data_problem(ctx: Context, facts: TrainerFacts, data_url: str) -> str | None:
    """Why training on `data_url` would fail, for data this sandbox holds; None if fine or not ours."""
    upload_id = _media_upload_of(data_url)
    if upload_id is None:
        return None
    row = live_upload(ctx, upload_id)
    if row is None:
        return f"Failed to download training data from {data_url}: HTTP 404 (uploads are kept 7 days)"
    try:
        with zipfile.ZipFile(ctx.store.blob_path(row["blob"])) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, OSError):
        return "The training data must be a zip file"
    extensions = IMAGE_EXT if facts.media == "image" else VIDEO_EXT
    count = sum(1 for n in names if "." in n and n[n.rfind(".") :].lower() in extensions)
    if count < facts.min_items:
        word = "images" if facts.media == "image" else "videos"
        return f"The training zip must contain at least {facts.min_items} {word} (found {count})"
    return None


def _output_names(ctx: Context, prediction_id: str, facts: TrainerFacts) -> list[str]:
    names = []
    for kind in facts.lora_outputs:
        h = hashlib.sha256(f"{ctx.seed}:{prediction_id}:{kind}".encode()).hexdigest()
        uuid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
        names.append(f"{prediction_id}_{kind}_{uuid}.safetensors")
    return names


def submit(ctx: Context) -> Response:
    trainer = ctx.params["trainer"]
    facts = TRAINERS.get(trainer)
    if facts is None:
        raise ApiError(
            404,
            "NotFound",
            f"Model {TRAINER_NAMESPACE}/{trainer} not found "
            f"(the sandbox emulates the LoRA trainers: {', '.join(TRAINERS)})",
        )
    body = ctx.request.json_object()
    inputs = validate_inputs(facts, body)
    webhook = ctx.request.arg("webhook")
    if webhook is not None and (
        urlsplit(webhook).scheme not in ("http", "https") or not urlsplit(webhook).netloc
    ):
        raise _bad(f"webhook must be an https URL (got {webhook[:100]!r})")

    run_s = scaled(ctx, inputs["steps"] * SECONDS_PER_STEP[trainer])
    if ctx.documented:
        # Over the cap a task waits, `created`, until a slot frees [doc]; never a 429.
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
    problem = data_problem(ctx, facts, inputs["data"])
    fail_fraction: float | None = None
    error: str | None = None
    if problem is not None:
        fail_fraction, error = 0.0, problem
    else:
        fail_fraction = job_failure(ctx.faults, effective_seed(ctx.faults, ctx.seed), seq)
        error = ctx.faults.fail_message if fail_fraction is not None else None
    ctx.store.execute(
        "INSERT INTO wavespeed_predictions (id, seq, model, input, created, queue_s, run_s, fail_fraction, error,"
        " outputs, webhook) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            prediction_id,
            seq,
            f"{TRAINER_NAMESPACE}/{trainer}",
            json.dumps(inputs),
            ctx.now,
            queue_s,
            run_s,
            fail_fraction,
            error,
            json.dumps(_output_names(ctx, prediction_id, facts)),
            webhook,
        ),
    )
    p = load(ctx, prediction_id)
    assert p is not None
    return ok(view(ctx, p))


def _start(ctx: Context, earliest: float, cap: int) -> float:
    """When a task submitted now starts: the first moment from `earliest` on with a free slot.

    Every task already submitted keeps the slot it was scheduled (deleted ones included: a guess),
    so the schedule is fixed at submit and statuses stay a pure function of stored facts.
    """
    predictions = [Prediction(r) for r in ctx.store.query("SELECT * FROM wavespeed_predictions")]
    booked = [(p.start, p.end) for p in predictions if p.end > earliest]
    for t in sorted({earliest, *(end for _, end in booked)}):
        if sum(1 for start, end in booked if start <= t < end) < cap:
            return t
    return earliest  # unreachable: after the last end nothing runs


# --- result, history, delete -------------------------------------------------------------------
def result(ctx: Context) -> Response:
    p = load(ctx, ctx.params["prediction_id"])
    if p is None:
        raise ApiError(404, "NotFound", f"Prediction {ctx.params['prediction_id']} not found")
    return ok(view(ctx, p))


def _time_filter(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(f"{key} must be an ISO 8601 timestamp string")
    try:
        return parse_iso_utc(value)
    except ValueError:
        raise _bad(
            f"{key} must be an ISO 8601 timestamp such as 2025-09-25T09:12:48.239Z (got {value!r})"
        ) from None


def history(ctx: Context) -> Response:
    body = ctx.request.json_object()
    unknown = sorted(set(body) - HISTORY_KEYS)
    if unknown:
        raise _bad(f"Unknown parameter(s): {', '.join(unknown)}")
    page, size = body.get("page"), body.get("page_size")
    for key, value in (("page", page), ("page_size", size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f"{key} is required and must be an integer")
    assert isinstance(page, int) and isinstance(size, int)
    if page < 1:
        raise _bad(f"page must be >= 1 (got {page})")
    if not 1 <= size <= HISTORY_MAX_PAGE_SIZE:
        raise _bad(f"page_size must be between 1 and {HISTORY_MAX_PAGE_SIZE} (got {size})")
    after = _time_filter(body, "created_after")
    before = _time_filter(body, "created_before")
    oldest = ctx.now - HISTORY_WINDOW_S
    where: list[str] = ["deleted IS NULL", "created >= ?"]
    params: list[float | str] = [oldest]
    if after is not None:
        where.append("created >= ?")
        params.append(after)
    if before is not None:
        where.append("created <= ?")
        params.append(before)
    if body.get("model"):
        where.append("model = ?")
        params.append(str(body["model"]))
    rows = ctx.store.query(
        f"SELECT * FROM wavespeed_predictions WHERE {' AND '.join(where)} ORDER BY created DESC, seq DESC",
        params,
    )
    items = [Prediction(r) for r in rows]
    if body.get("status"):
        items = [p for p in items if p.status(ctx.now) == body["status"]]
    chunk = items[(page - 1) * size : page * size]
    data: dict[str, Any] = {"page": page, "items": [view(ctx, p, history=True) for p in chunk]}
    if not ctx.documented:  # the newer predictions page shows no `total` [doc]
        data.update(page_size=size, total=len(items))
    return ok(data)


def delete(ctx: Context) -> Response:
    body = ctx.request.json_object()
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _bad("ids is required: a list of prediction ids")
    count = 0
    for prediction_id in dict.fromkeys(ids):
        cursor = ctx.store.execute(
            "UPDATE wavespeed_predictions SET deleted = ? WHERE id = ? AND deleted IS NULL",
            (ctx.now, prediction_id),
        )
        count += cursor.rowcount
    return ok({"deleted_count": count})


# --- LoRA files --------------------------------------------------------------------------------
def lora_bytes(ctx: Context, p: Prediction, name: str) -> bytes:
    """A valid, tensor-less safetensors file whose metadata says what produced it."""
    trained = json.loads(p.row["input"])
    header = json.dumps(
        {
            "__metadata__": {
                "format": "pt",
                "producer": "reconciler sandbox",
                "model": p.row["model"],
                "prediction_id": p.row["id"],
                "file": name,
                "trigger_word": trained["trigger_word"],
                "steps": str(trained["steps"]),
                "lora_rank": str(trained["lora_rank"]),
                "checksum": signature(ctx, "lora", p.row["id"], name),
            }
        },
        sort_keys=True,
    ).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header


def output_file(ctx: Context) -> Response:
    p = load(ctx, ctx.params["prediction_id"])
    name = ctx.params["filename"]
    if (
        p is None
        or p.status(ctx.now) != COMPLETED
        or p.outputs_expired(ctx.now)
        or name not in json.loads(p.row["outputs"])
    ):
        raise ApiError(
            404, "NoSuchKey", "The specified key does not exist (output URLs are valid for 7 days)"
        )
    from reconciler.sandbox.wavespeed import inference

    content_type = "application/octet-stream"
    if inference.is_render(p.row["model"]):
        data, content_type = inference.media_bytes(name)
    else:
        data = lora_bytes(ctx, p, name)

    def once() -> Iterator[bytes]:
        yield data

    return Response(200, once(), [("Content-Type", content_type)], length=len(data))


def list_objects(ctx: Context) -> list[dict[str, Any]]:
    rows = ctx.store.query("SELECT * FROM wavespeed_predictions ORDER BY created, seq")
    return [
        {**view(ctx, Prediction(r), history=True, with_input=True), "_deleted": r["deleted"] is not None}
        for r in rows
    ]


def routes() -> list[Route]:
    return [
        Route("POST", f"{API}/{TRAINER_NAMESPACE}/{{trainer}}", submit),
        Route("GET", f"{API}/predictions/{{prediction_id}}/result", result),
        Route("GET", f"{API}/predictions/{{prediction_id}}", result),  # the older docs' poll URL
        Route("POST", f"{API}/predictions", history),
        Route("POST", f"{API}/predictions/delete", delete),
        Route("GET", f"{FILES}/outputs/{{prediction_id}}/{{filename}}", output_file),
    ]
