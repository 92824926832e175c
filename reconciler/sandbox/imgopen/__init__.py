"""The ImgOpen (api.zhiqite.com) emulator: training submit, the inferred result query, LoRA files.

Envelope `{"code": "<string>", "msg": ..., "data"?}`; success is the string "200"
(providers.md §3.1). Only "200" is documented, so the error codes are this emulator's choice
[inf], HTTP-like and answered with HTTP 200 (business errors travel in the envelope):

    "400" invalid request (missing taskId, 10–100 URLs, a field out of its documented range)
    "401" a credential header is missing or empty (both X-Request-req-* headers are required)
    "404" the result query's taskId is unknown
    "409" "taskId already exists" (a duplicate submit)
    "429"/"500"/"503" injected faults, which keep their HTTP status

Unknown paths under the prefix answer HTTP 404. Any non-empty credential pair is the one
emulated account. LoRA files under `/sandbox-files/imgopen/` need no credentials (like the
signed URLs a real service hands out).
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.imgopen import tasks
from reconciler.sandbox.imgopen.lora_files import FILES_PREFIX
from reconciler.sandbox.routing import ApiError, Context, Request, Response, Route

ACCESS_KEY_ID_HEADER = "x-request-req-accesskeyid"
ACCESS_KEY_SECRET_HEADER = "x-request-req-accesskeysecret"


class ImgOpenEmulator:
    name = "imgopen"
    path_prefixes = (tasks.API_ROOT, FILES_PREFIX)

    def schema(self) -> str:
        return tasks.SCHEMA

    def routes(self) -> list[Route]:
        return tasks.routes()

    def authenticate(self, request: Request) -> ApiError | None:
        if request.path.startswith(FILES_PREFIX + "/"):
            return None
        missing = [
            name
            for name, header in (("accessKeyId", ACCESS_KEY_ID_HEADER), ("accessKeySecret", ACCESS_KEY_SECRET_HEADER))
            if not request.headers.get(header, "").strip()
        ]
        if missing:
            headers = " and ".join(f"X-Request-req-{m}" for m in missing)
            return ApiError(200, tasks.CODE_UNAUTHORIZED, f"Unauthorized: {headers} required")
        return None

    def error_response(self, error: ApiError, request: Request, request_id: str) -> Response:
        if error.status == 200:  # a business error: the envelope carries it
            return Response.json(200, {"code": error.code, "msg": error.message}, headers=error.headers)
        if error.status == 429 or error.status >= 500 or error.code == "NotFound" or error.status == 413:
            return Response.json(error.status, {"code": str(error.status), "msg": error.message}, headers=error.headers)
        # the framework's own refusals (a body that is not JSON…) read like any other bad request
        return Response.json(200, {"code": tasks.CODE_BAD_REQUEST, "msg": error.message}, headers=error.headers)

    def list_objects(self, kind: str, ctx: Context) -> list[dict[str, Any]] | None:
        if kind == "imgopen_tasks":
            return tasks.list_objects(ctx)
        return None


__all__ = ["ImgOpenEmulator"]
