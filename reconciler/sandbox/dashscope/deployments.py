"""DashScope `/api/v1/deployments`: deploy a fine-tuned model, scale it, delete it (providers.md §1.6).

A deployment's status is derived from timestamps: PENDING for the documented 5–10 minutes
(time-scaled, the exact delay fixed by the seed), RUNNING, UPDATING after a scale, DELETING
after a delete and then gone (404). A deleted deployment's row is kept for introspection but
its `deployed_model` is free again once it is gone.

Documented fidelity (see `fidelity.py`): a suffix gives `<model_name>-<8 hex>-<suffix>` (the doc's
`emo` + `sample01` → `emo-35b3f106-sample01`), so nobody can compute the id; a suffix is globally
unique (409 while a live deployment holds it); a `plan: lora` deployment cannot be scaled
(capacity applies to plan mu only); deployments are listed oldest first.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.sandbox.dashscope import fine_tunes
from reconciler.sandbox.dashscope.common import (
    DEPLOY_DELETE_S,
    DEPLOY_MAX_S,
    DEPLOY_MIN_S,
    DEPLOY_SCALE_S,
    NATIVE,
    USER_ID,
    WAN_MODELS,
    WORKSPACE_ID,
    fmt_iso,
    int_arg,
    ok,
    page,
    scaled,
)
from reconciler.sandbox.faults import unit
from reconciler.sandbox.routing import ApiError, Context, Response, Route

PLANS = ("lora", "mu", "cu", "ptu")
CREATE_KEYS = frozenset(
    {
        "model_name",
        "plan",
        "capacity",
        "aigc_config",
        "name",
        "suffix",
        "deploy_spec",
        "billing_method",
        "template_id",
        "enable_thinking",
        "max_context_length",
        "rpm_limit",
        "tpm_limit",
        "ptu_capacity",
        "model_version",
    }
)
AIGC_KEYS = {"use_input_prompt": bool, "prompt": str, "lora_prompt_default": str}
SUFFIX_RE = re.compile(r"^[A-Za-z0-9_-]{1,8}$")
BASE_CAPACITY = 1
MAX_CAPACITY = 1000  # exclusive

SCHEMA = """
CREATE TABLE IF NOT EXISTS dashscope_deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deployed_model TEXT NOT NULL,
    model_name TEXT NOT NULL,
    base_model TEXT NOT NULL,
    plan TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    previous_capacity INTEGER,
    spec TEXT NOT NULL,
    created REAL NOT NULL,
    ready_at REAL NOT NULL,
    scale_at REAL,
    scale_done REAL,
    deleted REAL,
    gone REAL
);
CREATE INDEX IF NOT EXISTS dashscope_deployments_name ON dashscope_deployments(deployed_model)
;
-- list order (newest or oldest first): a page walks this index instead of sorting the table;
-- with the columns that decide whether a deployment is listed, a page's skipped rows and its
-- total are read from the index alone, not looked up in the table row by row (25 pages of 200
-- at 5,000 deployments: 60 -> 15 ms of SQL, on a plan's critical path). A database made before
-- keeps its unused (created, id) index `dashscope_deployments_listed`.
CREATE INDEX IF NOT EXISTS dashscope_deployments_live ON dashscope_deployments(created, id, deleted, gone)
"""


def _bad(message: str) -> ApiError:
    return ApiError(400, "InvalidParameter", message)


def status_at(row: dict[str, Any], now: float) -> str | None:
    """The deployment's status at `now`, or None once a delete has completed."""
    if row["deleted"] is not None:
        return None if now >= row["gone"] else "DELETING"
    if now < row["ready_at"]:
        return "PENDING"
    if row["scale_at"] is not None and row["scale_at"] <= now < row["scale_done"]:
        return "UPDATING"
    return "RUNNING"


_VIEW_COLUMNS = (  # what `view` (and `status_at`) read of a row
    "deployed_model, model_name, base_model, plan, capacity, previous_capacity,"
    " created, ready_at, scale_at, scale_done, deleted, gone"
)


def view(row: dict[str, Any], now: float, millis: bool = False) -> dict[str, Any]:
    status = status_at(row, now) or "DELETING"
    events = [
        t
        for t in (row["created"], row["ready_at"], row["scale_at"], row["scale_done"], row["deleted"])
        if t is not None
    ]
    modified = max(t for t in events if t <= now) if any(t <= now for t in events) else row["created"]
    out: dict[str, Any] = {
        "deployed_model": row["deployed_model"],
        "gmt_create": fmt_iso(row["created"], millis),
        "gmt_modified": fmt_iso(modified, millis),
        "status": status,
        "model_name": row["model_name"],
        "base_model": row["base_model"],
        "workspace_id": WORKSPACE_ID,
        "charge_type": "post_paid",
        "creator": USER_ID,
        "modifier": USER_ID,
        "plan": row["plan"],
    }
    if row["plan"] != "lora":  # mu/cu deployments also report capacity [doc]
        out["base_capacity"] = BASE_CAPACITY
        out["capacity"] = row["capacity"]
        ready = row["capacity"] if status == "RUNNING" else (row["previous_capacity"] or 0)
        out["ready_capacity"] = ready if status in ("RUNNING", "UPDATING") else 0
    return out


def _live(ctx: Context, deployed_model: str) -> dict[str, Any] | None:
    rows = ctx.store.query(
        "SELECT * FROM dashscope_deployments WHERE deployed_model = ? ORDER BY id DESC", (deployed_model,)
    )
    return next((r for r in rows if status_at(r, ctx.now) is not None), None)


def _found(ctx: Context) -> dict[str, Any]:
    row = _live(ctx, ctx.params["deployed_model"])
    if row is None:
        raise ApiError(404, "NotFound", "Not found.")
    return row


def _capacity(value: Any) -> int:
    if value is None:
        raise _bad("Missing capacity (Wan LoRA deployments use 1)")
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < BASE_CAPACITY
        or value % BASE_CAPACITY
        or value >= MAX_CAPACITY
    ):
        raise _bad(
            f"Invalid capacity ({value}), capacity must be multiples of {BASE_CAPACITY} and less than {MAX_CAPACITY}!"
        )
    return value


def create(ctx: Context) -> Response:
    body = ctx.request.json_object()
    unknown = sorted(set(body) - CREATE_KEYS)
    if unknown:
        raise _bad(f"Unknown parameter(s): {', '.join(unknown)}")
    model_name = body.get("model_name")
    if not isinstance(model_name, str) or not model_name:
        raise _bad("Missing model_name: the finetuned_output of a job or an exported checkpoint's model_name")
    plan = body.get("plan")
    if plan is None:
        raise _bad("Missing plan (use lora for Wan LoRA models)")
    if plan not in PLANS:
        raise _bad(f"Invalid plan {plan!r}: use one of {', '.join(PLANS)}")
    capacity = _capacity(body.get("capacity"))
    aigc = body.get("aigc_config")
    if aigc is not None:
        if not isinstance(aigc, dict):
            raise _bad("aigc_config must be an object")
        for key, value in aigc.items():
            if key not in AIGC_KEYS:
                raise _bad(f"Unknown aigc_config parameter {key!r} (supported: {', '.join(AIGC_KEYS)})")
            if not isinstance(value, AIGC_KEYS[key]):
                raise _bad(f"aigc_config.{key} must be a {AIGC_KEYS[key].__name__}")
    suffix = body.get("suffix")
    if suffix is not None and (not isinstance(suffix, str) or not SUFFIX_RE.match(suffix)):
        raise _bad(f"suffix must be 1-8 letters, digits, '_' or '-' (got {suffix!r})")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise _bad("name must be a string")

    base_model = fine_tunes.deployable_base_model(ctx, model_name)
    if base_model in WAN_MODELS and plan != "lora":
        raise _bad(f"{model_name} is a Wan LoRA model: deploy it with plan lora (got {plan})")
    if ctx.documented:
        _refuse_documented_conflict(ctx, model_name, suffix)
        # "<model_name>-<8 hex>-<suffix>" [doc]; the hex is the sandbox's own, from its seed
        deployed_model = (
            f"{model_name}-{ctx.store.token(ctx.seed, 'dashscope_deployment_hex', 8)}-{suffix}"
            if suffix
            else model_name
        )
    else:
        deployed_model = f"{model_name}-{suffix}" if suffix else model_name
    if _live(ctx, deployed_model) is not None:
        raise ApiError(
            409, "Conflict", f"Deployed model {deployed_model} already exists, please specify a suffix"
        )
    seq = ctx.store.next_counter("dashscope_deployment")
    delay = DEPLOY_MIN_S + (DEPLOY_MAX_S - DEPLOY_MIN_S) * unit(ctx.seed, "deploy", deployed_model, seq)
    cursor = ctx.store.execute(
        "INSERT INTO dashscope_deployments (deployed_model, model_name, base_model, plan, capacity, spec, created, ready_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (
            deployed_model,
            model_name,
            base_model,
            plan,
            capacity,
            json.dumps({"aigc_config": aigc, "name": name, "suffix": suffix}, ensure_ascii=False),
            ctx.now,
            ctx.now + scaled(ctx, delay),
        ),
    )
    row = ctx.store.one("SELECT * FROM dashscope_deployments WHERE id = ?", (cursor.lastrowid,))
    assert row is not None
    return ok(ctx, view(row, ctx.now, millis=True))


def _refuse_documented_conflict(ctx: Context, model_name: str, suffix: str | None) -> None:
    """409 `Conflict` [doc]: the model deployed without a suffix twice, or a suffix in use.

    "suffix: ≤ 8 chars, globally unique; required to deploy the same model twice" [doc]. Taken
    literally (the least helpful reading), a suffix is held by whichever live deployment has it,
    whatever its model. The wording for a taken suffix is a guess.
    """
    for row in ctx.store.query(
        "SELECT * FROM dashscope_deployments WHERE deleted IS NULL OR gone > ?", (ctx.now,)
    ):
        if status_at(row, ctx.now) is None:
            continue
        held = json.loads(row["spec"]).get("suffix")
        if suffix is None and held is None and row["model_name"] == model_name:
            raise ApiError(
                409, "Conflict", f"Deployed model {model_name} already exists, please specify a suffix"
            )
        if suffix is not None and held == suffix:
            raise ApiError(
                409,
                "Conflict",
                f"Deployed model with suffix {suffix} already exists, please specify another suffix",
            )


def get(ctx: Context) -> Response:
    return ok(ctx, view(_found(ctx), ctx.now))


def list_deployments(ctx: Context) -> Response:
    page_no = int_arg(ctx, "page_no", 1, 1, 1_000_000)
    page_size = int_arg(ctx, "page_size", 50, 1, 200)
    # listed: every deployment for which status_at() is not None (not deleted, or still deleting).
    # The order is undocumented: newest first is the convenient one; documented fidelity lists oldest first.
    order = "created, id" if ctx.documented else "created DESC, id DESC"
    live = "FROM dashscope_deployments WHERE deleted IS NULL OR gone > :now"
    total = ctx.store.one(f"SELECT count(*) AS n {live}", {"now": ctx.now})
    rows = ctx.store.query(  # the columns a view reads (not the stored request)
        f"SELECT {_VIEW_COLUMNS} {live} ORDER BY {order} LIMIT :size OFFSET :skip",
        {"now": ctx.now, "size": page_size, "skip": (page_no - 1) * page_size},
    )
    return ok(
        ctx,
        {
            "page_no": page_no,
            "page_size": page_size,
            "total": total["n"] if total else 0,
            "deployments": [view(r, ctx.now) for r in rows],
        },
    )


def scale(ctx: Context) -> Response:
    row = _found(ctx)
    body = ctx.request.json_object()
    unknown = sorted(set(body) - {"capacity", "deployed_model", "ptu_capacity"})
    if unknown:
        raise _bad(f"Unknown parameter(s): {', '.join(unknown)}")
    if body.get("deployed_model") not in (None, row["deployed_model"]):
        raise _bad(
            f"deployed_model in the body ({body['deployed_model']}) differs from the path ({row['deployed_model']})"
        )
    if "ptu_capacity" in body and row["plan"] != "ptu":
        raise _bad("ptu_capacity applies only to plan ptu deployments")
    if ctx.documented and row["plan"] == "lora":
        # "capacity applies to plan mu only"; for lora it is ignored, scaling is a console form [doc].
        # The code is the documented one closest to it; the wording is a guess.
        raise ApiError(
            400,
            "UnsupportedOperation",
            f"Deployment {row['deployed_model']} has plan lora; capacity applies to plan mu only",
        )
    capacity = _capacity(body.get("capacity"))
    status = status_at(row, ctx.now)
    if status != "RUNNING":
        raise ApiError(
            400,
            "UnsupportedOperation",
            f"Deployment {row['deployed_model']} is {status}; only a RUNNING deployment can be scaled",
        )
    ctx.store.execute(
        "UPDATE dashscope_deployments SET previous_capacity = capacity, capacity = ?, scale_at = ?, scale_done = ? WHERE id = ?",
        (capacity, ctx.now, ctx.now + scaled(ctx, DEPLOY_SCALE_S), row["id"]),
    )
    updated = ctx.store.one("SELECT * FROM dashscope_deployments WHERE id = ?", (row["id"],))
    assert updated is not None
    return ok(ctx, view(updated, ctx.now))


def delete(ctx: Context) -> Response:
    row = _found(ctx)
    if row["deleted"] is None:
        ctx.store.execute(
            "UPDATE dashscope_deployments SET deleted = ?, gone = ? WHERE id = ?",
            (ctx.now, ctx.now + scaled(ctx, DEPLOY_DELETE_S), row["id"]),
        )
        row = ctx.store.one("SELECT * FROM dashscope_deployments WHERE id = ?", (row["id"],)) or row
    return ok(ctx, view(row, ctx.now, millis=True))


def deployable_models(ctx: Context) -> Response:
    """`GET /deployments/models`: base Wan models plus every fine-tuned model that could be deployed now."""
    page_no = int_arg(ctx, "page_no", 1, 1, 1_000_000)
    page_size = int_arg(ctx, "page_size", 50, 1, 100)
    source = ctx.request.arg("model_source")
    if source not in (None, "", "base", "custom"):
        raise _bad(f"model_source must be base or custom (got {source!r})")
    models: list[dict[str, Any]] = []
    if source in (None, "", "custom"):
        for job in fine_tunes.load_jobs(ctx).values():
            if job.row["deleted"] is not None or job.status(ctx.now) != "SUCCEEDED":
                continue
            names = [job.finetuned_output] + [
                v["model_name"] for v in fine_tunes.checkpoint_views(ctx, job, ctx.now) if "model_name" in v
            ]
            models += [
                {"model_name": n, "base_model": job.row["model"], "model_source": "custom", "plans": ["lora"]}
                for n in names
            ]
    if source in (None, "", "base"):
        models += [
            {"model_name": m, "base_model": m, "model_source": "base", "plans": ["lora"]} for m in WAN_MODELS
        ]
    return ok(
        ctx,
        {
            "page_no": page_no,
            "page_size": page_size,
            "total": len(models),
            "models": page(models, page_no, page_size),
        },
    )


def list_objects(ctx: Context, kind: str) -> list[dict[str, Any]] | None:
    if kind != "deployments":
        return None
    rows = ctx.store.query("SELECT * FROM dashscope_deployments ORDER BY id")
    return [{**view(r, ctx.now), "_deleted": r["deleted"] is not None} for r in rows]


def routes() -> list[Route]:
    base = f"{NATIVE}/deployments"
    return [
        Route("GET", f"{base}/models", deployable_models),
        Route("POST", base, create),
        Route("GET", base, list_deployments),
        Route("GET", f"{base}/{{deployed_model}}", get),
        Route("DELETE", f"{base}/{{deployed_model}}", delete),
        Route("PUT", f"{base}/{{deployed_model}}/scale", scale),
    ]
