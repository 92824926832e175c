"""DashScope `/api/v1/fine-tunes`: jobs, their logs, checkpoints, validation results and exports.

Validation follows the Wan reference (seed 002, providers.md §1.4–1.5); statuses come from the
pure schedule in `training.py`; checkpoint exports are rows whose status is likewise derived
from timestamps. Everything a response shows is computed at the request's `now`.

Documented fidelity (`ctx.documented`, see `fidelity.py` for every behaviour and its source)
answers with the least helpful shapes the documents show: hyper-parameters echoed as strings and
only the five seed 002 shows, no `finetuned_output` before SUCCEEDED, a given `job_name` not
honoured, jobs listed oldest first, a job refused while one of its files is still being
processed, and a second export of a checkpoint refused without saying by whom.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.dashscope import training
from reconciler.sandbox.dashscope.common import (
    CHECKPOINT_TTL_S,
    DEFAULT_SAMPLES,
    EXPORT_PENDING_S,
    EXPORT_PROCESSING_S,
    JOB_CANCEL_S,
    JOB_PENDING_S,
    JOB_POST_S,
    NATIVE,
    SEED_ECHOED_HYPER_PARAMETERS,
    TOKENS_PER_SAMPLE,
    USER_ID,
    WAN_MODELS,
    WORKSPACE_ID,
    WanModel,
    fmt_compact_minute,
    fmt_iso,
    fmt_log,
    fmt_time,
    int_arg,
    java_text,
    ok,
    page,
    scaled,
)
from reconciler.sandbox.dashscope.files import file_status, live_file
from reconciler.sandbox.faults import effective_seed, job_failure
from reconciler.sandbox.routing import ApiError, Context, Response, Route

QUOTA = 20  # "Only 20 fine-tune job in running or succeeded allowed per user."
QUOTA_STATUSES = frozenset({"PENDING", "QUEUING", "RUNNING", "CANCELING", "SUCCEEDED"})
CREATE_KEYS = frozenset(
    {"model", "training_file_ids", "validation_file_ids", "training_type", "hyper_parameters", "job_name"}
)
DELETE_REFUSED = (
    "The fine-tune job can not be deleted because it is succeeded,failed or canceled"  # (sic) [doc]
)
EXPORT_NAME_RE = re.compile(r"^[\w\-\u4e00-\u9fff]{1,64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS dashscope_fine_tunes (
    job_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    created REAL NOT NULL,
    job_name TEXT NOT NULL,
    model TEXT NOT NULL,
    spec TEXT NOT NULL,
    samples INTEGER NOT NULL,
    val_records TEXT NOT NULL,
    steps INTEGER NOT NULL,
    steps_per_epoch INTEGER NOT NULL,
    pending_s REAL NOT NULL,
    train_s REAL NOT NULL,
    post_s REAL NOT NULL,
    cancel_s REAL NOT NULL,
    fail_fraction REAL,
    fail_message TEXT,
    cancel_at REAL,
    deleted REAL
);
CREATE TABLE IF NOT EXISTS dashscope_exports (
    job_id TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    step INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    requested REAL NOT NULL,
    pending_s REAL NOT NULL,
    processing_s REAL NOT NULL,
    PRIMARY KEY (job_id, checkpoint)
);
-- what a request looks rows up by: without these each was a scan of the table, once per create
-- or deployment (quadratic in the jobs of the account: ~9 s of an apply of 4,000 chains)
CREATE INDEX IF NOT EXISTS dashscope_fine_tunes_seq ON dashscope_fine_tunes(seq);
CREATE INDEX IF NOT EXISTS dashscope_exports_model_name ON dashscope_exports(model_name);
CREATE INDEX IF NOT EXISTS dashscope_exports_display_name ON dashscope_exports(display_name);
-- The jobs cache's fingerprint (`_JOBS_FINGERPRINT`), kept by the database itself on every write
-- by any process, instead of an aggregate over the whole table per check: rows, newest seq, and
-- how many updates and deletes there have been (an insert alone lets the cache append), and a
-- random generation: a row made again (removed by hand) counts its changes from 0, and a cache
-- made before must not take that for "no change since".
CREATE TABLE IF NOT EXISTS dashscope_fine_tune_summary (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL,
    s INTEGER,
    changes INTEGER NOT NULL,
    generation INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS dashscope_fine_tunes_inserted AFTER INSERT ON dashscope_fine_tunes
BEGIN
    UPDATE dashscope_fine_tune_summary SET n = n + 1, s = max(coalesce(s, NEW.seq), NEW.seq) WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS dashscope_fine_tunes_updated AFTER UPDATE ON dashscope_fine_tunes
BEGIN
    UPDATE dashscope_fine_tune_summary
    SET changes = changes + 1, s = (SELECT max(seq) FROM dashscope_fine_tunes) WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS dashscope_fine_tunes_deleted AFTER DELETE ON dashscope_fine_tunes
BEGIN
    UPDATE dashscope_fine_tune_summary
    SET n = n - 1, changes = changes + 1, s = (SELECT max(seq) FROM dashscope_fine_tunes) WHERE id = 1;
END;
-- a database made before the summary: counted once (after the triggers exist, so no row is missed)
INSERT OR IGNORE INTO dashscope_fine_tune_summary (id, n, s, changes, generation)
SELECT 1, count(*), max(seq), 0, random() FROM dashscope_fine_tunes
"""


# --- hyper-parameters ------------------------------------------------------------------------
_HP_ORDER = (
    "n_epochs",
    "batch_size",
    "learning_rate",
    "split",
    "eval_epochs",
    "max_pixels",
    "max_split_val_dataset_sample",
    "save_total_limit",
    "lora_rank",
    "lora_alpha",
)
_HP_FLOATS = frozenset({"learning_rate", "split"})


def _bad(message: str) -> ApiError:
    return ApiError(400, "InvalidParameter", message)


def effective_hyper_parameters(model: WanModel, given: Any) -> dict[str, Any]:
    """The documented defaults filled in and every documented rule checked (seed 002)."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise _bad("hyper_parameters must be an object")
    unknown = sorted(set(given) - set(_HP_ORDER))
    if unknown:
        raise _bad(f"Unknown hyper_parameters: {', '.join(unknown)} (supported: {', '.join(_HP_ORDER)})")
    hp: dict[str, Any] = {
        "n_epochs": 400,
        "batch_size": model.batch_size,
        "learning_rate": 2.0e-5,
        "split": 0.9,
        "eval_epochs": 50,
        "max_pixels": model.max_pixels_default,
        "max_split_val_dataset_sample": 5,
        "save_total_limit": 20,
        "lora_rank": 32,
        "lora_alpha": 32,
    }
    for key, value in given.items():
        if key in _HP_FLOATS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _bad(f"hyper_parameters.{key} must be a number (got {value!r})")
            hp[key] = float(value)
        else:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _bad(f"hyper_parameters.{key} must be an integer (got {value!r})")
            hp[key] = value
    if hp["batch_size"] != model.batch_size:
        raise _bad(
            f"hyper_parameters.batch_size is fixed at {model.batch_size} for {model.name} (got {hp['batch_size']})"
        )
    if hp["n_epochs"] < 1:
        raise _bad(f"hyper_parameters.n_epochs must be >= 1 (got {hp['n_epochs']})")
    if not hp["learning_rate"] > 0:
        raise _bad(f"hyper_parameters.learning_rate must be > 0 (got {hp['learning_rate']})")
    if hp["eval_epochs"] < 1 or hp["eval_epochs"] * 10 < hp["n_epochs"]:
        raise _bad(
            f"hyper_parameters.eval_epochs must be >= n_epochs/10 = {hp['n_epochs'] / 10:g} (got {hp['eval_epochs']})"
        )
    lo, hi = model.max_pixels_range
    if not lo <= hp["max_pixels"] <= hi:
        raise _bad(
            f"hyper_parameters.max_pixels must be between {lo} and {hi} for {model.name} (got {hp['max_pixels']})"
        )
    if not 0 < hp["split"] < 1:
        raise _bad(f"hyper_parameters.split must be in (0, 1) (got {hp['split']})")
    for key in ("max_split_val_dataset_sample", "save_total_limit"):
        if hp[key] < 1:
            raise _bad(f"hyper_parameters.{key} must be >= 1 (got {hp[key]})")
    for key in ("lora_rank", "lora_alpha"):
        v = hp[key]
        if v < 1 or v & (v - 1):
            raise _bad(f"hyper_parameters.{key} must be a power of two such as 16, 32 or 64 (got {v})")
    return {k: hp[k] for k in _HP_ORDER}


# --- loading jobs ----------------------------------------------------------------------------
@dataclass
class Job:
    row: dict[str, Any]
    timeline: training.Timeline
    # (not `functools.cached_property`: Python 3.11's takes a lock on every first read, and a
    # refresh lists every job of the account once)
    _spec: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def spec(self) -> dict[str, Any]:
        """The stored request (decoded once: a Job lives in the per-store cache between requests)."""
        spec = self._spec
        if spec is None:
            spec = self._spec = json.loads(self.row["spec"])
        return spec

    @spec.setter
    def spec(self, value: dict[str, Any]) -> None:
        self._spec = value

    @property
    def hp(self) -> dict[str, Any]:
        hp: dict[str, Any] = self.spec["hyper_parameters"]
        return hp

    @property
    def finetuned_output(self) -> str:
        return f"{self.row['model']}-{self.row['job_id']}"

    def status(self, now: float) -> str:
        return self.timeline.status(now)

    def saved_checkpoints(self) -> list[tuple[str, int, float]]:
        """[(checkpoint name, step, saved at)] kept at the end of a successful run (last N)."""
        hp = self.hp
        n_epochs, every, limit = hp["n_epochs"], hp["eval_epochs"], hp["save_total_limit"]
        epochs = list(range(every, n_epochs + 1, every))
        if not epochs or epochs[-1] != n_epochs:
            epochs.append(n_epochs)
        tl = self.timeline
        start = tl.start if tl.start is not None else tl.end
        spe = self.row["steps_per_epoch"]
        return [
            (f"checkpoint-{e * spe}", e * spe, start + self.row["train_s"] * e / n_epochs)
            for e in epochs[-limit:]
        ]

    def saved_count(self) -> int:
        """`len(self.saved_checkpoints())`, without making them (a job view shows only the count)."""
        hp = self.hp
        n_epochs, every, limit = hp["n_epochs"], hp["eval_epochs"], hp["save_total_limit"]
        n = len(range(every, n_epochs + 1, every))
        if not n or every * n != n_epochs:  # the last epoch is saved too (every * n: the range's last)
            n += 1
        return len(range(n)[-limit:])  # a range slices as the list of epochs does

    def checkpoints(self, now: float) -> list[tuple[str, int, float]]:
        return self.saved_checkpoints() if self.status(now) == training.SUCCEEDED else []


# Almost every fine-tune and deployment request calls `load_jobs`, which must schedule the whole
# account (jobs queue one at a time), so N requests cost O(N²). Rows only change by INSERT and by
# setting cancel_at or deleted, so the result is kept per store and rebuilt when this fingerprint
# of the table changes: (rows, newest seq, updates and deletes so far, generation), which the schema's
# triggers keep in one row on every write, this process's or another's.
_JOBS_FINGERPRINT = "SELECT n, s, changes, generation FROM dashscope_fine_tune_summary WHERE id = 1"
_SUMMARY_AGAIN = SCHEMA[SCHEMA.rindex("INSERT OR IGNORE INTO dashscope_fine_tune_summary") :]


@dataclass
class _JobsCache:
    fingerprint: tuple[Any, ...]
    jobs: dict[str, Job]
    last: tuple[float, int]  # (created, seq) of the newest job
    slot_free: float  # when the training slot frees after every cached job
    newest_first: list[Job] | None = None  # live jobs in list order, made on the first list request
    # finetuned_output -> (position in `jobs`, job), made on the first deployment create
    by_output: dict[str, tuple[int, Job]] | None = None
    position: dict[str, int] | None = None  # job_id -> its position in `jobs`
    seen: tuple[int, int] = (-1, -1)  # (data_version, own writes) when the fingerprint was last checked

    def output_index(self) -> tuple[dict[str, tuple[int, Job]], dict[str, int]]:
        """Every job by its `finetuned_output` and by id, with its place in `jobs` (read only)."""
        if self.by_output is None or self.position is None:
            self.position = {job_id: i for i, job_id in enumerate(self.jobs)}
            self.by_output = {job.finetuned_output: (i, job) for i, job in enumerate(self.jobs.values())}
        return self.by_output, self.position

    def listed(self) -> list[Job]:
        if self.newest_first is None:
            live = [j for j in self.jobs.values() if j.row["deleted"] is None]
            live.sort(key=lambda j: (j.row["created"], j.row["seq"]), reverse=True)
            self.newest_first = live
        return self.newest_first


_jobs_cache: weakref.WeakKeyDictionary[Any, _JobsCache] = weakref.WeakKeyDictionary()
_writes: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()  # per store, by `_wrote`


def load_jobs(ctx: Context) -> dict[str, Job]:
    return dict(_current(ctx).jobs)


def _current(ctx: Context) -> _JobsCache:
    # The fingerprint is a query per request: skipped while nothing can have changed it — no
    # other connection committed (data_version) and this one did not write the table (`_wrote`).
    # Both are read before the fingerprint, so a write in between only makes the cache look older
    # than it is: the next call looks again.
    seen = (ctx.store.data_version(), _writes.get(ctx.store, 0))
    cached = _jobs_cache.get(ctx.store)
    if cached is not None and cached.seen == seen:
        return cached
    # The rows are read after the fingerprint, so a write in between can only make the cached
    # fingerprint older than its rows: the next call then reloads. Never a stale answer.
    summary = ctx.store.one(_JOBS_FINGERPRINT)
    if summary is None:  # the row was removed by hand: made again (a new generation: no cache matches)
        ctx.store.execute(_SUMMARY_AGAIN)
        summary = ctx.store.one(_JOBS_FINGERPRINT) or {}
    fingerprint = tuple(summary.values())
    if cached is not None and cached.fingerprint == fingerprint:
        cached.seen = seen
        return cached
    fresh = _appended(ctx, cached, fingerprint) if cached is not None else None
    if fresh is None:
        fresh = _load_all(ctx, fingerprint)
    fresh.seen = seen
    _jobs_cache[ctx.store] = fresh
    return fresh


def release_cache(store: Any) -> None:
    """Forget `store`'s cached jobs (rebuilt from the table by the next request that needs them).

    A plan lists every job once, then plans for a while without asking the emulator anything:
    the cache (the rows, their decoded requests and schedules; ~17 MB at 5,000 jobs) need not
    sit beside the planner's objects at the process's peak."""
    _jobs_cache.pop(store, None)


def _wrote(ctx: Context) -> None:
    """Every write to dashscope_fine_tunes calls this: the cached jobs must be checked again."""
    _writes[ctx.store] = _writes.get(ctx.store, 0) + 1


def _facts(r: dict[str, Any]) -> training.JobFacts:
    return training.JobFacts(
        job_id=r["job_id"],
        seq=r["seq"],
        created=r["created"],
        pending_s=r["pending_s"],
        train_s=r["train_s"],
        post_s=r["post_s"],
        cancel_s=r["cancel_s"],
        fail_fraction=r["fail_fraction"],
        cancel_at=r["cancel_at"],
    )


def _load_all(ctx: Context, fingerprint: tuple[Any, ...]) -> _JobsCache:
    rows = ctx.store.query("SELECT * FROM dashscope_fine_tunes ORDER BY created, seq")
    timelines, slot_free = training.schedule_from([_facts(r) for r in rows], -math.inf)
    last = (rows[-1]["created"], rows[-1]["seq"]) if rows else (-math.inf, -1)
    return _JobsCache(
        fingerprint, {r["job_id"]: Job(r, timelines[r["job_id"]]) for r in rows}, last, slot_free
    )


def _appended(ctx: Context, cached: _JobsCache, fingerprint: tuple[Any, ...]) -> _JobsCache | None:
    """Only new jobs since the cache (the common case: a create): schedule just them.

    Anything else — a cancel, a delete, a job created out of order by another process — replays
    the whole account (None).
    """
    if fingerprint[2:] != cached.fingerprint[2:]:
        return None
    rows = ctx.store.query(
        "SELECT * FROM dashscope_fine_tunes WHERE seq > ? ORDER BY created, seq", (cached.last[1],)
    )
    if (
        not rows
        or (rows[0]["created"], rows[0]["seq"]) < cached.last
        or len(rows) + len(cached.jobs) != fingerprint[0]
    ):
        return None
    timelines, slot_free = training.schedule_from([_facts(r) for r in rows], cached.slot_free)
    jobs = dict(cached.jobs)
    added = [Job(r, timelines[r["job_id"]]) for r in rows]
    jobs.update((job.row["job_id"], job) for job in added)
    fresh = _JobsCache(fingerprint, jobs, (rows[-1]["created"], rows[-1]["seq"]), slot_free)
    if cached.by_output is not None and cached.position is not None:
        # the index goes on with the new jobs at the end, not rebuilt from every job: a deployment
        # create follows each job's create in a chain, so rebuilding it was O(jobs) per create.
        # Shared with the cache it replaces, which is dropped (the index is only ever read by key).
        fresh.by_output, fresh.position = cached.by_output, cached.position
        for i, job in enumerate(added, start=len(cached.jobs)):
            fresh.position[job.row["job_id"]] = i
            fresh.by_output[job.finetuned_output] = (i, job)
    return fresh


def live_job(ctx: Context, job_id: str | None = None) -> tuple[Job, Mapping[str, Job]]:
    # the cache's own mapping, read-only: `load_jobs` copies all jobs, and a GET needs only one of
    # them (a copy per request made every poll O(jobs on the account))
    jobs: Mapping[str, Job] = _current(ctx).jobs
    job_id = job_id or ctx.params["job_id"]
    job = jobs.get(job_id)
    if job is None or job.row["deleted"] is not None:
        raise ApiError(404, "NotFound", "Not found.")
    return job, jobs


# --- views -----------------------------------------------------------------------------------
def echoed_hyper_parameters(hp: dict[str, Any], documented: bool) -> dict[str, Any]:
    """What a job object shows as `hyper_parameters`.

    Documented: the five keys seed 002 echoes, each as a string (the list-jobs page shows
    `"learning_rate": "1.6e-5"`) [seed][doc]. Permissive: every effective value, as numbers.
    """
    if not documented:
        return dict(hp)
    return {k: java_text(hp[k]) for k in SEED_ECHOED_HYPER_PARAMETERS if k in hp}


def job_view(job: Job, now: float, documented: bool = False) -> dict[str, Any]:
    row, tl, spec = job.row, job.timeline, job.spec
    status = tl.status(now)
    hp = spec["hyper_parameters"]
    out: dict[str, Any] = {
        "job_id": row["job_id"],
        "job_name": row["job_name"],
        "status": status,
    }
    # The Wan seed shows `finetuned_output` from create on; the LLM reference only on SUCCEEDED.
    if not documented or status == training.SUCCEEDED:
        out["finetuned_output"] = job.finetuned_output
    out.update(
        {
            "model": row["model"],
            "base_model": row["model"],
            "training_file_ids": spec["training_file_ids"],
            "validation_file_ids": spec["validation_file_ids"],
            "hyper_parameters": echoed_hyper_parameters(hp, documented),
            "training_type": spec["training_type"],
            "create_time": fmt_time(row["created"]),
            "workspace_id": WORKSPACE_ID,
            "user_identity": USER_ID,
            "modifier": USER_ID,
            "creator": USER_ID,
        }
    )
    if status in training.TERMINAL:
        out["end_time"] = fmt_time(tl.end)
    out["group"] = "llm"
    if status in (training.SUCCEEDED, training.CANCELED):
        out["usage"] = _tokens(job, now)
    out["max_output_cnt"] = hp["save_total_limit"]
    if status in training.TERMINAL:
        out["output_cnt"] = job.saved_count() if status == training.SUCCEEDED else 0
    if status == training.FAILED:
        out["code"] = "1"
        out["message"] = row["fail_message"]
    elif status == training.CANCELED:
        out["code"] = "1"
        out["message"] = "The fine-tune job was canceled by the user."
    return out


def _tokens(job: Job, now: float) -> int:
    steps_done = round(job.row["steps"] * job.timeline.training_fraction(now))
    return int(steps_done * job.hp["batch_size"] * TOKENS_PER_SAMPLE)


def log_lines(job: Job, now: float) -> list[str]:
    tl, row = job.timeline, job.row
    events: list[tuple[float, str]] = [
        (row["created"], "INFO - fine-tune job created, start to process data")
    ]
    if tl.start is not None:
        if tl.start > tl.pending_end + 1e-9:
            events.append(
                (tl.pending_end, "INFO - data process succeeded, waiting for the running fine-tune job")
            )
            events.append((tl.start, "INFO - start to fine-tune"))
        else:
            events.append((tl.start, "INFO - data process succeeded, start to fine-tune"))
        train_stop = tl.train_end if tl.train_end is not None else tl.end
        for k in range(1, 21):
            t = tl.start + row["train_s"] * k / 20
            if t > train_stop + 1e-9:
                break
            tokens = round(row["steps"] * k / 20) * job.hp["batch_size"] * TOKENS_PER_SAMPLE
            events.append((t, f" Actual number of consumed tokens is {tokens} !"))
    if tl.final == training.SUCCEEDED:
        assert tl.train_end is not None
        post = tl.end - tl.train_end
        events += [
            (tl.train_end, "INFO - fine-tuned output got, start to transfer it for inference"),
            (
                tl.train_end + post * 0.05,
                "INFO - transfer for inference succeeded, start to deliver it for inference",
            ),
            (tl.train_end + post * 0.5, "INFO - start to save checkpoint"),
            (tl.end, "INFO - finetune-job succeeded"),
            (tl.end, "INFO - ##FT_COMPLETE##"),
        ]
    elif tl.final == training.FAILED:
        events += [(tl.end, f"ERROR - {row['fail_message']}"), (tl.end, "INFO - finetune-job failed")]
    elif tl.final == training.CANCELED and row["cancel_at"] is not None:
        events += [
            (row["cancel_at"], "INFO - received cancel request, stopping"),
            (tl.end, "INFO - finetune-job canceled"),
        ]
    visible = sorted((e for e in events if e[0] <= now), key=lambda e: e[0])  # stable: same-time order kept
    return [text if text.startswith(" ") else f"{fmt_log(t)} - {text}" for t, text in visible]


def checkpoint_view(
    job: Job, name: str, step: int, saved_at: float, export: dict[str, Any] | None, now: float
) -> dict[str, Any]:
    full_name = f"{job.row['job_id']}-{name}"
    view: dict[str, Any] = {
        "create_time": fmt_iso(saved_at),
        "full_name": full_name,
        "checkpoint_id": full_name,
        "job_id": job.row["job_id"],
        "checkpoint": name,
        "step": step,
        "expire_time": fmt_iso(saved_at + CHECKPOINT_TTL_S),
    }
    status = export_status(export, now)
    if status == "SUCCEEDED":
        assert export is not None
        view["model_name"] = export["model_name"]
        view["model_display_name"] = export["display_name"]
    view["status"] = status
    return view


def export_status(export: dict[str, Any] | None, now: float) -> str:
    if export is None or now < export["requested"] + export["pending_s"]:
        return "PENDING"
    if now < export["requested"] + export["pending_s"] + export["processing_s"]:
        return "PROCESSING"
    return "SUCCEEDED"


def _exports(ctx: Context, job_id: str) -> dict[str, dict[str, Any]]:
    rows = ctx.store.query("SELECT * FROM dashscope_exports WHERE job_id = ?", (job_id,))
    return {r["checkpoint"]: r for r in rows}


def checkpoint_views(ctx: Context, job: Job, now: float) -> list[dict[str, Any]]:
    exports = _exports(ctx, job.row["job_id"])
    views = [checkpoint_view(job, n, s, t, exports.get(n), now) for n, s, t in job.checkpoints(now)]
    return sorted(views, key=lambda v: v["step"], reverse=True)


# --- handlers --------------------------------------------------------------------------------
def create(ctx: Context) -> Response:
    body = ctx.request.json_object()
    unknown = sorted(set(body) - CREATE_KEYS)
    if unknown:
        raise _bad(f"Unknown parameter(s): {', '.join(unknown)}")
    model_name = body.get("model")
    if not isinstance(model_name, str) or not model_name:
        raise _bad("Missing model")
    model = WAN_MODELS.get(model_name)
    if model is None:
        raise ApiError(
            404,
            "Model.NotExist",
            f"Model: {model_name} not found! (fine-tunable here: {', '.join(WAN_MODELS)})",
        )
    training_type = body.get("training_type")
    if training_type is None:
        raise _bad("training_type is required for Wan models: use efficient_sft")
    if training_type != "efficient_sft":
        raise _bad(f"training_type {training_type!r} is not supported for {model_name}: use efficient_sft")
    training_ids = _file_ids(ctx, body.get("training_file_ids"), "training_file_ids")
    if not training_ids:
        raise _bad("Missing training files")
    validation_ids = _file_ids(ctx, body.get("validation_file_ids"), "validation_file_ids")
    hp = effective_hyper_parameters(model, body.get("hyper_parameters"))
    job_name = body.get("job_name")
    if job_name is not None and (not isinstance(job_name, str) or not job_name.strip()):
        raise _bad("job_name must be a non-empty string")
    if ctx.documented:
        job_name = None  # documented for LLM jobs only; whether a Wan job honours it is unknown [inf]

    jobs: Mapping[str, Job] = _current(ctx).jobs  # read only here (no copy of every job per create)
    # fewer jobs than the quota cannot have reached it: skip scheduling every one of them
    active = (
        0
        if len(jobs) < QUOTA
        else sum(1 for j in jobs.values() if j.row["deleted"] is None and j.status(ctx.now) in QUOTA_STATUSES)
    )
    if active >= QUOTA:
        raise ApiError(
            429,
            "Throttling.AllocationQuota",
            "Only 20 fine-tune job in running or succeeded allowed per user.",
        )

    samples, val_records = _dataset_shape(ctx, training_ids, validation_ids, hp)
    spe = math.ceil(samples / hp["batch_size"])
    steps = hp["n_epochs"] * spe
    seq = ctx.store.next_counter("dashscope_job")
    job_id = _new_job_id(ctx, jobs)
    seed = effective_seed(ctx.faults, ctx.seed)
    fail_fraction = job_failure(ctx.faults, seed, seq)
    spec = {
        "training_file_ids": training_ids,
        "validation_file_ids": validation_ids,
        "hyper_parameters": hp,
        "training_type": training_type,
    }
    ctx.store.execute(
        "INSERT INTO dashscope_fine_tunes (job_id, seq, created, job_name, model, spec, samples, val_records, steps,"
        " steps_per_epoch, pending_s, train_s, post_s, cancel_s, fail_fraction, fail_message)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            job_id,
            seq,
            ctx.now,
            job_name or job_id,
            model_name,
            json.dumps(spec),
            samples,
            json.dumps(val_records, ensure_ascii=False),
            steps,
            spe,
            scaled(ctx, JOB_PENDING_S),
            scaled(ctx, steps * model.seconds_per_step),
            scaled(ctx, JOB_POST_S),
            scaled(ctx, JOB_CANCEL_S),
            fail_fraction,
            ctx.faults.fail_message if fail_fraction is not None else None,
        ),
    )
    _wrote(ctx)
    job, _ = live_job(ctx, job_id)
    return ok(ctx, job_view(job, ctx.now, ctx.documented))


def _file_ids(ctx: Context, value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(f"{field} must be a list of file ids")
    for file_id in value:
        row = live_file(ctx, file_id)
        if row is None:
            raise _bad("File not found.")
        if row["purpose"] != "fine-tune":
            raise _bad(
                f"File {file_id} was uploaded with purpose {row['purpose']!r}; training data needs purpose fine-tune"
            )
        status = file_status(ctx, row)
        if status != "processed":  # "wait for processed before use" [doc]; the refusal's wording is a guess
            raise _bad(f"File {file_id} is not ready (status {status}); wait until it is processed")
    return list(value)


def _dataset_shape(
    ctx: Context, training_ids: list[str], validation_ids: list[str], hp: dict[str, Any]
) -> tuple[int, list[dict[str, str]]]:
    """(number of training samples, the validation samples' prompts) from the uploaded zips."""
    samples, records = 0, []
    for file_id in training_ids:
        row = live_file(ctx, file_id)
        assert row is not None
        samples += row["samples"] if row["samples"] else DEFAULT_SAMPLES
        records += json.loads(row["records"])
    if validation_ids:
        val: list[dict[str, str]] = []
        count = 0
        for file_id in validation_ids:
            row = live_file(ctx, file_id)
            assert row is not None
            count += row["samples"] if row["samples"] else 1
            val += json.loads(row["records"])
        val = (val or [{}])[:count]
    else:
        count = max(1, min(int(samples * (1 - hp["split"])), hp["max_split_val_dataset_sample"]))
        val = records[-count:] if records else []
    while len(val) < count:
        val.append({})
    return samples, [
        {
            "prompt": r.get("prompt", f"validation sample {i + 1}"),
            "first_frame_path": r.get("first_frame_path", f"image_{i + 1}.jpg"),
        }
        for i, r in enumerate(val)
    ]


def _new_job_id(ctx: Context, jobs: Mapping[str, Job]) -> str:
    while True:
        job_id = f"ft-{fmt_compact_minute(ctx.now)}-{ctx.store.token(ctx.seed, 'dashscope_job_id', 4)}"
        if job_id not in jobs:
            return job_id


def get(ctx: Context) -> Response:
    job, _ = live_job(ctx)
    return ok(ctx, job_view(job, ctx.now, ctx.documented))


def list_jobs(ctx: Context) -> Response:
    page_no = int_arg(ctx, "page_no", 1, 1, 1_000_000)
    page_size = int_arg(ctx, "page_size", 10, 1, 100)
    model = ctx.request.arg("model")
    jobs = _current(ctx).listed()  # newest first, sorted once per change of the table, not once per page
    # The order is undocumented: newest first is the convenient one; documented fidelity lists oldest first.
    if ctx.documented:
        jobs = jobs[::-1]
    if model:
        jobs = [j for j in jobs if j.row["model"] == model]
    return ok(
        ctx,
        {
            "page_no": page_no,
            "page_size": page_size,
            "total": len(jobs),
            "jobs": [job_view(j, ctx.now, ctx.documented) for j in page(jobs, page_no, page_size)],
        },
    )


def cancel(ctx: Context) -> Response:
    job, _ = live_job(ctx)
    status = job.status(ctx.now)
    if status not in training.CANCELABLE:
        raise ApiError(
            400,
            "UnsupportedOperation",
            f"The fine-tune job can not be canceled because it is {status.lower()}",
        )
    ctx.store.execute(
        "UPDATE dashscope_fine_tunes SET cancel_at = ? WHERE job_id = ?", (ctx.now, job.row["job_id"])
    )
    _wrote(ctx)
    return ok(ctx, {"status": "success"})


def delete(ctx: Context) -> Response:
    job, _ = live_job(ctx)
    if job.status(ctx.now) not in training.TERMINAL:
        raise ApiError(400, "UnsupportedOperation", DELETE_REFUSED)
    ctx.store.execute(
        "UPDATE dashscope_fine_tunes SET deleted = ? WHERE job_id = ?", (ctx.now, job.row["job_id"])
    )
    _wrote(ctx)
    return ok(ctx, {"status": "success"})


def logs(ctx: Context) -> Response:
    job, _ = live_job(ctx)
    offset = int_arg(ctx, "offset", 0, 0, 10_000_000)
    line = int_arg(ctx, "line", 100, 1, 1000)
    lines = log_lines(job, ctx.now)
    return ok(ctx, {"total": len(lines), "logs": lines[offset : offset + line]})


def _previewed(ctx: Context, job: Job) -> list[str]:
    """Saved checkpoints whose validation preview succeeded: "only checkpoints whose preview
    generation succeeded" are listed [seed]. Previews fail only where a fault says so
    (`fail_previews`: the newest N), a test's way to make latest-validated differ from latest."""
    saved = [name for name, _, _ in job.checkpoints(ctx.now)]
    failed = ctx.faults.fail_previews
    return saved[: len(saved) - failed] if failed else saved


def validation_results(ctx: Context) -> Response:
    job, _ = live_job(ctx)
    names = sorted(_previewed(ctx, job))  # the seed lists them in string order
    return ok(ctx, [{"checkpoint": n} for n in names])


def validation_details(ctx: Context) -> Response:
    job, _ = live_job(ctx)
    page_no = int_arg(ctx, "page_no", 1, 1, 1_000_000)
    page_size = int_arg(ctx, "page_size", 10, 1, 100)
    checkpoint = ctx.params["checkpoint"]
    saved = {name: step for name, step, _ in job.checkpoints(ctx.now)}
    if job.status(ctx.now) == training.SUCCEEDED and checkpoint not in saved:
        raise ApiError(404, "NotFound", f"Checkpoint {checkpoint} not found.")
    # a checkpoint whose preview failed has no preview videos (an empty list is a guess: the
    # documents do not say what validation-details answers for it)
    records = json.loads(job.row["val_records"]) if checkpoint in _previewed(ctx, job) else []
    expires = int(ctx.now + 24 * 3600)
    items = []
    host = ctx.request.headers.get("host") or "127.0.0.1"
    for i, rec in enumerate(records):
        # a signed storage URL valid 24 h [seed]; here on the sandbox's own host, so it can be fetched
        base = f"http://{host}{PREVIEWS}/{job.row['job_id']}/{checkpoint}"
        sig = hashlib.sha256(f"{job.row['job_id']}:{checkpoint}:{i}:{expires}".encode()).hexdigest()[:28]
        query = f"?Expires={expires}&OSSAccessKeyId=sandbox&Signature={sig}"
        frame = rec["first_frame_path"].rsplit("/", 1)[-1]
        items.append(
            {
                "video_path": f"{base}/validation_{i + 1}.mp4{query}",
                "prompt": rec["prompt"],
                "first_frame_path": f"{base}/{frame}{query}",
            }
        )
    return ok(
        ctx,
        {
            "page_no": page_no,
            "page_size": page_size,
            "total": len(items),
            "list": page(items, page_no, page_size),
        },
    )


PREVIEWS = "/sandbox-files/dashscope/previews"  # stands for the signed storage host: no API key


def preview_file(ctx: Context) -> Response:
    """A validation preview's video or first frame: a tiny real MP4 / PNG (the bytes are a guess).

    Served while the URL's `Expires` has not passed and the checkpoint's preview succeeded; else
    404, as a storage host answers an expired or unknown signed URL (its wording is a guess)."""
    from reconciler.sandbox.wavespeed.inference import media_bytes

    job = load_jobs(ctx).get(ctx.params["job_id"])
    name = ctx.params["filename"]
    expires = ctx.request.arg("Expires")
    fresh = expires is not None and expires.isdigit() and ctx.now < int(expires)
    if job is None or not fresh or ctx.params["checkpoint"] not in _previewed(ctx, job):
        raise ApiError(
            404, "NoSuchKey", "The specified key does not exist (preview URLs are valid for 24 h)."
        )
    data, content_type = media_bytes("x.mp4" if name.endswith(".mp4") else "x.png")

    def once() -> Iterator[bytes]:
        yield data

    return Response(200, once(), [("Content-Type", content_type)], length=len(data))


def export(ctx: Context) -> Response:
    job, _ = live_job(ctx)
    checkpoint = ctx.params["checkpoint"]
    display = ctx.request.arg("model_name")
    if not display:
        raise _bad("Missing model_name: the console display name of the exported model")
    if not EXPORT_NAME_RE.match(display):
        raise _bad(
            f"model_name {display!r} may only contain letters, digits, CJK characters, '_' and '-' (max 64)"
        )
    status = job.status(ctx.now)
    if status != training.SUCCEEDED:
        raise ApiError(
            400,
            "UnsupportedOperation",
            f"The fine-tune job is {status}; checkpoints can be exported only after it succeeded",
        )
    saved = {name: (step, at) for name, step, at in job.checkpoints(ctx.now)}
    if checkpoint not in saved:
        raise ApiError(404, "NotFound", f"Checkpoint {checkpoint} not found.")
    step, saved_at = saved[checkpoint]
    existing = _exports(ctx, job.row["job_id"]).get(checkpoint)
    if existing is not None:
        # What a second export of one checkpoint answers is undocumented (a guess either way).
        # Documented fidelity refuses every second request, naming nobody: only the checkpoint row
        # (no names before SUCCEEDED) and the caller's own journal can tell whose export it is.
        if ctx.documented:
            raise ApiError(
                400, "UnsupportedOperation", f"{checkpoint} has already been exported or is being exported"
            )
        if existing["display_name"] == display:
            return ok(ctx, True)
        raise ApiError(
            400,
            "UnsupportedOperation",
            f"{checkpoint} was already exported with model_name {existing['display_name']!r}",
        )
    if ctx.now >= saved_at + CHECKPOINT_TTL_S:
        raise ApiError(
            400,
            "UnsupportedOperation",
            f"{checkpoint} expired at {fmt_iso(saved_at + CHECKPOINT_TTL_S)}; it can no longer be exported",
        )
    taken = ctx.store.one(
        "SELECT e.job_id FROM dashscope_exports e JOIN dashscope_fine_tunes j ON j.job_id = e.job_id"
        " WHERE e.display_name = ? AND j.deleted IS NULL",
        (display,),
    )
    if taken is not None:
        raise _bad(f"model_name {display!r} already exists; export model names must be globally unique")
    ctx.store.execute(
        "INSERT INTO dashscope_exports (job_id, checkpoint, step, display_name, model_name, requested, pending_s, processing_s)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (
            job.row["job_id"],
            checkpoint,
            step,
            display,
            f"{job.finetuned_output}-c{step}",
            ctx.now,
            scaled(ctx, EXPORT_PENDING_S),
            scaled(ctx, EXPORT_PROCESSING_S),
        ),
    )
    return ok(ctx, True)


def checkpoints(ctx: Context) -> Response:
    job, _ = live_job(ctx)
    return ok(ctx, checkpoint_views(ctx, job, ctx.now))


# --- for deployments -------------------------------------------------------------------------
def deployable_base_model(ctx: Context, model_name: str) -> str:
    """The base model behind a deployable name, or the documented error if it cannot be deployed."""
    # jobs with an export of this name: one query instead of one per job
    named = {
        r["job_id"]
        for r in ctx.store.query("SELECT job_id FROM dashscope_exports WHERE model_name = ?", (model_name,))
    }
    # Only jobs that can answer are looked at, in the table's order (what a walk over every job,
    # 1,000 of them per deployment create at 1,000 chains, would meet first).
    cache = _current(ctx)
    by_output, position = cache.output_index()
    candidates = {position[job_id]: cache.jobs[job_id] for job_id in named if job_id in position}
    own = by_output.get(model_name)
    if own is not None:
        candidates[own[0]] = own[1]
    for _, job in sorted(candidates.items()):
        if job.row["deleted"] is not None:
            continue
        if model_name == job.finetuned_output:
            status = job.status(ctx.now)
            if status != training.SUCCEEDED:
                raise _bad(f"Model {model_name} is not ready: its fine-tune job is {status}")
            return str(job.row["model"])
        if job.row["job_id"] not in named:
            continue
        exported = {e["model_name"]: e for e in _exports(ctx, job.row["job_id"]).values()}
        if model_name in exported:
            e = exported[model_name]
            state = export_status(e, ctx.now)
            if state != "SUCCEEDED":
                raise _bad(f"Model {model_name} is not ready: its checkpoint export is {state}")
            saved_at = next((at for n, _, at in job.saved_checkpoints() if n == e["checkpoint"]), ctx.now)
            if ctx.now >= saved_at + CHECKPOINT_TTL_S:
                raise _bad(f"Model {model_name} comes from a checkpoint that expired; it cannot be deployed")
            return str(job.row["model"])
    raise ApiError(404, "Model.NotExist", f"Model: {model_name} not found!")


def list_objects(ctx: Context, kind: str) -> list[dict[str, Any]] | None:
    if kind == "fine_tunes":
        # introspection, not an API answer: the full view in every fidelity
        return [
            {**job_view(j, ctx.now), "_deleted": j.row["deleted"] is not None}
            for j in load_jobs(ctx).values()
        ]
    if kind == "checkpoints":
        out = []
        for job in load_jobs(ctx).values():
            for view in checkpoint_views(ctx, job, ctx.now):
                out.append({**view, "_deleted": job.row["deleted"] is not None})
        return out
    return None


def routes() -> list[Route]:
    base = f"{NATIVE}/fine-tunes"
    return [
        Route("POST", base, create),
        Route("GET", base, list_jobs),
        Route("GET", f"{base}/{{job_id}}", get),
        Route("DELETE", f"{base}/{{job_id}}", delete),
        Route("POST", f"{base}/{{job_id}}/cancel", cancel),
        Route("GET", f"{base}/{{job_id}}/logs", logs),
        Route("GET", f"{base}/{{job_id}}/validation-results", validation_results),
        Route("GET", f"{base}/{{job_id}}/validation-details/{{checkpoint}}", validation_details),
        Route("GET", f"{PREVIEWS}/{{job_id}}/{{checkpoint}}/{{filename}}", preview_file),
        Route("GET", f"{base}/{{job_id}}/export/{{checkpoint}}", export),
        Route("GET", f"{base}/{{job_id}}/checkpoints", checkpoints),
    ]
