"""The local trainer's sandbox emulator (the plugin names it; the sandbox loads it from the entry point)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.sandbox.routing import ApiError, Context, Request, Response, Route

API = "/local/v1"
QUEUE_S = 30.0  # emulated seconds queued, then training
TRAIN_S = 600.0  # emulated seconds training

SCHEMA = """
CREATE TABLE IF NOT EXISTS localtrainer_datasets (
    id TEXT PRIMARY KEY, name TEXT, urls TEXT, created REAL, deleted REAL);
CREATE TABLE IF NOT EXISTS localtrainer_jobs (
    id TEXT PRIMARY KEY, name TEXT, dataset_id TEXT, hyper_parameters TEXT, created REAL,
    canceled REAL, deleted REAL);
"""


def _dataset(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "urls": json.loads(row["urls"]), "created": row["created"]}


def _job(row: dict[str, Any], ctx: Context) -> dict[str, Any]:
    elapsed = (ctx.now - row["created"]) * ctx.time_scale
    if row["canceled"] is not None:
        status = "canceled"
    elif elapsed < QUEUE_S:
        status = "queued"
    elif elapsed < QUEUE_S + TRAIN_S:
        status = "training"
    else:
        status = "done"
    out = {
        "id": row["id"],
        "name": row["name"],
        "dataset_id": row["dataset_id"],
        "hyper_parameters": json.loads(row["hyper_parameters"]),
        "created": row["created"],
        "status": status,
    }
    if status == "done":
        out["lora_url"] = f"https://local.invalid/loras/{row['id']}.safetensors"
    return out


def _live(ctx: Context, table: str, object_id: str) -> dict[str, Any]:
    row = ctx.store.one(f"SELECT * FROM {table} WHERE id = ? AND deleted IS NULL", [object_id])
    if row is None:
        raise ApiError(404, "not_found", f"no such object: {object_id}")
    return row


def create_dataset(ctx: Context) -> Response:
    body = ctx.request.json_object()
    urls = body.get("urls")
    if not isinstance(body.get("name"), str) or not isinstance(urls, list) or not urls:
        raise ApiError(400, "invalid", "name and a non-empty list of urls are required")
    object_id = "ds-" + ctx.store.token(ctx.seed, "localtrainer_dataset", 12)
    ctx.store.execute(
        "INSERT INTO localtrainer_datasets (id, name, urls, created) VALUES (?, ?, ?, ?)",
        [object_id, body["name"], json.dumps(urls), ctx.now],
    )
    return Response.json(201, _dataset(_live(ctx, "localtrainer_datasets", object_id)))


def list_datasets(ctx: Context) -> Response:
    rows = ctx.store.query("SELECT * FROM localtrainer_datasets WHERE deleted IS NULL ORDER BY created, id")
    return Response.json(200, {"items": [_dataset(r) for r in rows]})


def get_dataset(ctx: Context) -> Response:
    return Response.json(200, _dataset(_live(ctx, "localtrainer_datasets", ctx.params["id"])))


def delete_dataset(ctx: Context) -> Response:
    _live(ctx, "localtrainer_datasets", ctx.params["id"])
    ctx.store.execute(
        "UPDATE localtrainer_datasets SET deleted = ? WHERE id = ?", [ctx.now, ctx.params["id"]]
    )
    return Response(204)


def create_job(ctx: Context) -> Response:
    body = ctx.request.json_object()
    _live(ctx, "localtrainer_datasets", str(body.get("dataset_id")))
    if not isinstance(body.get("hyper_parameters"), dict):
        raise ApiError(400, "invalid", "hyper_parameters must be an object")
    object_id = "job-" + ctx.store.token(ctx.seed, "localtrainer_job", 12)
    ctx.store.execute(
        "INSERT INTO localtrainer_jobs (id, name, dataset_id, hyper_parameters, created) VALUES (?, ?, ?, ?, ?)",
        [object_id, body.get("name"), body["dataset_id"], json.dumps(body["hyper_parameters"]), ctx.now],
    )
    return Response.json(201, _job(_live(ctx, "localtrainer_jobs", object_id), ctx))


def list_jobs(ctx: Context) -> Response:
    rows = ctx.store.query("SELECT * FROM localtrainer_jobs WHERE deleted IS NULL ORDER BY created, id")
    return Response.json(200, {"items": [_job(r, ctx) for r in rows]})


def get_job(ctx: Context) -> Response:
    return Response.json(200, _job(_live(ctx, "localtrainer_jobs", ctx.params["id"]), ctx))


def cancel_job(ctx: Context) -> Response:
    row = _live(ctx, "localtrainer_jobs", ctx.params["id"])
    if _job(row, ctx)["status"] in ("queued", "training"):
        ctx.store.execute("UPDATE localtrainer_jobs SET canceled = ? WHERE id = ?", [ctx.now, row["id"]])
    return Response.json(200, _job(_live(ctx, "localtrainer_jobs", row["id"]), ctx))


def delete_job(ctx: Context) -> Response:
    _live(ctx, "localtrainer_jobs", ctx.params["id"])
    ctx.store.execute("UPDATE localtrainer_jobs SET deleted = ? WHERE id = ?", [ctx.now, ctx.params["id"]])
    return Response(204)


class LocalTrainerEmulator:
    name = "localtrainer"
    path_prefixes: tuple[str, ...] = (API,)

    def schema(self) -> str:
        return SCHEMA

    def routes(self) -> list[Route]:
        return [
            Route("POST", f"{API}/datasets", create_dataset),
            Route("GET", f"{API}/datasets", list_datasets),
            Route("GET", f"{API}/datasets/{{id}}", get_dataset),
            Route("DELETE", f"{API}/datasets/{{id}}", delete_dataset),
            Route("POST", f"{API}/jobs", create_job),
            Route("GET", f"{API}/jobs", list_jobs),
            Route("GET", f"{API}/jobs/{{id}}", get_job),
            Route("POST", f"{API}/jobs/{{id}}/cancel", cancel_job),
            Route("DELETE", f"{API}/jobs/{{id}}", delete_job),
        ]

    def authenticate(self, request: Request) -> ApiError | None:
        if request.headers.get("authorization", "").startswith("Bearer ") and len(
            request.headers["authorization"]
        ) > len("Bearer "):
            return None
        return ApiError(401, "unauthorized", "a bearer token is required")

    def error_response(self, error: ApiError, request: Request, request_id: str) -> Response:
        return Response.json(
            error.status, {"error": {"code": error.code, "message": error.message}}, headers=error.headers
        )

    def list_objects(self, kind: str, ctx: Context) -> list[dict[str, Any]] | None:
        if kind == "localtrainer_jobs":
            return [_job(r, ctx) for r in ctx.store.query("SELECT * FROM localtrainer_jobs")]
        return None
