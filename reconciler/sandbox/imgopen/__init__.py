"""The ImgOpen (api.zhiqite.com) emulator: training submit, the inferred result query, LoRA files.

ONLY THE SUBMIT IS DOCUMENTED (seed 003, providers.md §3.1): its path, its camelCase field table
with ranges and defaults, and the answer `{"code": "<string>", "msg": ...}` with "200" for
success. EVERYTHING ELSE HERE IS A GUESS, and `fidelity.py` labels each one so: the result query
(path, body, status numbers, LoRA URL — the same guess the client keeps in
`reconciler/providers/imgopen/result_endpoint.py`), the training timeline, the LoRA file, every
error code, and the answer to a duplicate `taskId`. The guessed codes are HTTP-like and travel in
an HTTP 200 envelope (business errors):

    "400" invalid request (missing taskId, 10–100 URLs, a field out of its documented range)
    "401" a credential header is missing or empty (both X-Request-req-* headers are required)
    "404" the result query's taskId is unknown
    a duplicate submit: permissive "409" "taskId already exists"; documented fidelity answers
          "400" "submit failed", which says nothing about why — the adapter must tell a taken
          taskId by asking the result query, never by the wording of a refusal
    "429"/"500"/"503" injected faults, which keep their HTTP status

Unknown paths under the prefix answer HTTP 404 (the doc's sidebar lists no list, cancel or delete
endpoint). Any non-empty credential pair is the one emulated account. LoRA files under
`/sandbox-files/imgopen/` need no credentials (like the signed URLs a real service hands out).
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
    path_prefixes: tuple[str, ...] = (tasks.API_ROOT, FILES_PREFIX)

    def schema(self) -> str:
        return tasks.SCHEMA

    def routes(self) -> list[Route]:
        return tasks.routes()

    def authenticate(self, request: Request) -> ApiError | None:
        if request.path.startswith(FILES_PREFIX + "/"):
            return None
        missing = [
            name
            for name, header in (
                ("accessKeyId", ACCESS_KEY_ID_HEADER),
                ("accessKeySecret", ACCESS_KEY_SECRET_HEADER),
            )
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
            return Response.json(
                error.status, {"code": str(error.status), "msg": error.message}, headers=error.headers
            )
        # the framework's own refusals (a body that is not JSON…) read like any other bad request
        return Response.json(
            200, {"code": tasks.CODE_BAD_REQUEST, "msg": error.message}, headers=error.headers
        )

    def list_objects(self, kind: str, ctx: Context) -> list[dict[str, Any]] | None:
        if kind == "imgopen_tasks":
            return tasks.list_objects(ctx)
        return None


__all__ = ["ImgOpenEmulator"]
