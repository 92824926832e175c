"""The WaveSpeed emulator: media upload (three generations), LoRA trainer predictions, history,
delete, and the files it hands out (providers.md §2, seeds 000/001/004).

Responses use the `{code, message, data}` envelope; errors carry the HTTP status in `code` too.
`/api/v3` needs `Authorization: Bearer <any non-empty key>` (one emulated Bronze-tier account);
`/sandbox-files/wavespeed` stands for the storage/CDN host and, like pre-signed URLs, takes no
key (a PUT must carry the signature its ticket gave).

`fidelity.py` lists what each handler answers in `documented` fidelity (the least helpful
documented shape: no `input` in any answer, opaque upload URLs, long `created`, queueing over the
concurrency cap) and in `permissive`, with the source of each.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.routing import ApiError, Context, Request, Response, Route
from reconciler.sandbox.wavespeed import inference, media, predictions, pricing
from reconciler.sandbox.wavespeed.common import API, FILES

OBJECT_KINDS = ("wavespeed_predictions", "wavespeed_uploads")


class WaveSpeedEmulator:
    name = "wavespeed"
    path_prefixes: tuple[str, ...] = (API, FILES)

    def schema(self) -> str:
        return ";\n".join((media.SCHEMA, predictions.SCHEMA))

    def routes(self) -> list[Route]:
        return [*media.routes(), *inference.routes(), *predictions.routes(), *pricing.routes()]

    def authenticate(self, request: Request) -> ApiError | None:
        if request.path.startswith(FILES + "/"):
            return None  # storage URLs: pre-signed (PUT) or public (GET), never the API key
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if not header:
            return ApiError(
                401, "Unauthorized", "Unauthorized: missing API key (send Authorization: Bearer <key>)"
            )
        if scheme.lower() != "bearer" or not key.strip():
            return ApiError(401, "Unauthorized", "Unauthorized: invalid API key")
        return None

    def error_response(self, error: ApiError, request: Request, request_id: str) -> Response:
        message = error.message
        if error.status == 429 and not message.lower().startswith("too many requests"):
            message = f"Too Many Requests: {message}"
        return Response.json(
            error.status, {"code": error.status, "message": message, "data": None}, headers=error.headers
        )

    def list_objects(self, kind: str, ctx: Context) -> list[dict[str, Any]] | None:
        if kind == "wavespeed_predictions":
            return predictions.list_objects(ctx)
        if kind == "wavespeed_uploads":
            rows = ctx.store.query("SELECT * FROM wavespeed_uploads ORDER BY created, seq")
            return [
                {
                    "id": r["id"],
                    "endpoint": r["endpoint"],
                    "filename": r["filename"],
                    "content_type": r["content_type"],
                    "size": r["size"],
                    "completed": r["completed"] is not None,
                    "_deleted": False,
                }
                for r in rows
            ]
        return None


__all__ = ["OBJECT_KINDS", "WaveSpeedEmulator"]
