"""The DashScope (Alibaba Model Studio) emulator: files, fine-tunes, checkpoints, deployments.

Paths, query parameters, envelopes, statuses and error codes follow providers.md §1 and seed 002.
Authentication is only checked for shape: any non-empty bearer key is the one emulated account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.sandbox.dashscope import deployments, files, fine_tunes, video_synthesis
from reconciler.sandbox.dashscope.common import COMPATIBLE, NATIVE
from reconciler.sandbox.routing import ApiError, Context, Request, Response, Route

if TYPE_CHECKING:
    from reconciler.sandbox.store import Store

_OPENAI_ERROR_TYPES = {401: "invalid_request_error", 404: "invalid_request_error", 429: "rate_limit_error"}


class DashScopeEmulator:
    name = "dashscope"
    path_prefixes: tuple[str, ...] = (NATIVE, COMPATIBLE, fine_tunes.PREVIEWS, video_synthesis.VIDEOS)

    def schema(self) -> str:
        return ";\n".join((files.SCHEMA, fine_tunes.SCHEMA, deployments.SCHEMA, video_synthesis.SCHEMA))

    def release_caches(self, store: Store) -> None:
        """What `SandboxApp.release_caches` asks of each emulator that has caches."""
        fine_tunes.release_cache(store)

    def routes(self) -> list[Route]:
        return [*files.routes(), *fine_tunes.routes(), *deployments.routes(), *video_synthesis.routes()]

    def authenticate(self, request: Request) -> ApiError | None:
        if request.path.startswith((fine_tunes.PREVIEWS + "/", video_synthesis.VIDEOS + "/")):
            return None  # a signed storage URL, fetched without the API key
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if not header:
            return ApiError(401, "InvalidApiKey", "No API-key provided.")
        if scheme.lower() != "bearer" or not key.strip():
            return ApiError(401, "InvalidApiKey", "Invalid API-key provided.")
        return None

    def error_response(self, error: ApiError, request: Request, request_id: str) -> Response:
        body: dict[str, Any] = {"request_id": request_id, "code": error.code, "message": error.message}
        if request.path.startswith(COMPATIBLE):
            # OpenAI-style clients (the openai SDK) read `error`; providers.md's envelope keys stay on top.
            body["error"] = {
                "code": error.code,
                "message": error.message,
                "type": _OPENAI_ERROR_TYPES.get(
                    error.status, "invalid_request_error" if error.status < 500 else "server_error"
                ),
                "param": None,
            }
        return Response.json(error.status, body, headers=error.headers)

    def list_objects(self, kind: str, ctx: Context) -> list[dict[str, Any]] | None:
        if kind == "files":
            rows = ctx.store.query("SELECT * FROM dashscope_files ORDER BY created, seq")
            return [{**files.compatible_view(ctx, r), "_deleted": r["deleted"] is not None} for r in rows]
        if kind == "tasks":
            return video_synthesis.list_objects(ctx)
        found = fine_tunes.list_objects(ctx, kind)
        return found if found is not None else deployments.list_objects(ctx, kind)
