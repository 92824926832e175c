"""WaveSpeed media upload, all three generations (providers.md §2.4), and serving the files.

- ticket: `POST /api/v3/media/uploads` {filename, size, content_type?} → a pre-signed PUT URL
  (on this sandbox, under /sandbox-files/, no bearer key, signature in the query) and the
  `download_url` the bytes will be served at once the PUT has arrived with exactly `size` bytes;
- simple: `POST /api/v3/upload`, multipart `file` → `data.url`;
- legacy: `POST /api/v3/media/upload/binary`, multipart `file` → `data.download_url`.

Bodies stream to a blob beside the database (never whole in memory). Uploads are served for 7
days, then answer 404 like an expired object. The real limits are documented per media type
(images 20 MB, videos 100 MB, audio 50 MB); zips are not mentioned, so they get 1 GB here.

The URL an upload is served at (every generation):
- documented fidelity: opaque, `…/uploads/<random token>.<ext>` — the shape the simple upload's
  page shows (`https://cdn.wavespeed.ai/uploads/abc123.png`) [doc]; our file name is not in it.
  The other two generations only show `"https://..."`, so the same shape there is a guess;
- permissive: `…/media/<id>/<our file name>` (a convenience no document promises).
Both forms are served whatever the current mode, since a URL outlives the request that made it.
The ticket answer carries only what the SDK reads (`upload`, `download_url`) when documented;
permissive adds `filename` and `size`.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reconciler.sandbox import multipart
from reconciler.sandbox.routing import ApiError, Context, Response, Route
from reconciler.sandbox.wavespeed.common import API, FILES, RETENTION_S, base_url, ok, signature

MB = 1024**2
LIMITS = {"image": 20 * MB, "video": 100 * MB, "audio": 50 * MB}
OTHER_LIMIT = 1024 * MB

SCHEMA = """
CREATE TABLE IF NOT EXISTS wavespeed_uploads (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    declared_size INTEGER,
    size INTEGER,
    created REAL NOT NULL,
    completed REAL,
    blob TEXT NOT NULL
)
"""


def media_type(filename: str, content_type: str | None = None) -> str:
    guessed = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return guessed


def limit_for(content_type: str) -> int:
    return LIMITS.get(content_type.split("/", 1)[0], OTHER_LIMIT)


def _too_large(ctx: Context) -> int:
    """The upload page's error table answers 413 "File too large" [doc]; permissive keeps 400."""
    return 413 if ctx.documented else 400


def _human(n: int) -> str:
    return f"{n // MB} MB"


def extension(filename: str) -> str:
    """'.zip' for 'money-rain-ab12.zip': the suffix an opaque URL keeps (the docs' `abc123.png`)."""
    ext = posixpath.splitext(filename)[1].lower()
    return ext if re.fullmatch(r"\.[a-z0-9]{1,8}", ext) else ""


def download_url(ctx: Context, row: dict[str, Any]) -> str:
    if ctx.documented:
        return f"{base_url(ctx)}{FILES}/uploads/{row['id']}{extension(row['filename'])}"
    return f"{base_url(ctx)}{FILES}/media/{row['id']}/{quote(row['filename'])}"


def upload_id_of(url_path: str) -> str | None:
    """The upload id in one of our media URLs' (unquoted) path, either form; None if it is not one."""
    for prefix in (f"{FILES}/media/", f"{FILES}/uploads/"):
        if url_path.startswith(prefix):
            rest = url_path[len(prefix) :]
            head = rest.split("/", 1)[0] if prefix.endswith("/media/") else rest.split(".", 1)[0]
            return head or None
    return None


def _plain_name(raw: str | None) -> str:
    name = posixpath.basename((raw or "").replace("\\", "/")).strip()
    return name or "upload"


class _Sink:
    """Writes one upload to disk, counting; past the limit it stops writing and remembers why."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self.too_large = False
        self._fh: Any = open(path, "wb")  # noqa: SIM115 (closed in finish)

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.too_large:
            return
        if self.size > self.limit:
            self.too_large = True
            self.discard()
            return
        self._fh.write(data)

    def finish(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def discard(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)


def _new_upload(
    ctx: Context, endpoint: str, filename: str, content_type: str, declared: int | None
) -> dict[str, Any]:
    upload_id = ctx.store.token(ctx.seed, "wavespeed_upload", 24)
    with ctx.store.transaction():
        seq = ctx.store.next_counter("wavespeed_upload")
        ctx.store.execute(
            "INSERT INTO wavespeed_uploads (id, seq, endpoint, filename, content_type, declared_size, created, blob)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                upload_id,
                seq,
                endpoint,
                filename,
                content_type,
                declared,
                ctx.now,
                f"wavespeed-upload-{upload_id}",
            ),
        )
    row = ctx.store.one("SELECT * FROM wavespeed_uploads WHERE id = ?", (upload_id,))
    assert row is not None
    return row


def _complete(ctx: Context, row: dict[str, Any], sink: _Sink) -> dict[str, Any]:
    os.replace(sink.path, ctx.store.blob_path(row["blob"]))
    with ctx.store.transaction():
        ctx.store.execute(
            "UPDATE wavespeed_uploads SET size = ?, completed = ? WHERE id = ?",
            (sink.size, ctx.now, row["id"]),
        )
    done = ctx.store.one("SELECT * FROM wavespeed_uploads WHERE id = ?", (row["id"],))
    assert done is not None
    return done


def live_upload(ctx: Context, upload_id: str) -> dict[str, Any] | None:
    """A finished upload that is still kept (7 days), else None."""
    row = ctx.store.one(
        "SELECT * FROM wavespeed_uploads WHERE id = ? AND completed IS NOT NULL", (upload_id,)
    )
    if row is None or ctx.now >= row["completed"] + RETENTION_S:
        return None
    return row


# --- ticket upload -----------------------------------------------------------------------------
def create_ticket(ctx: Context) -> Response:
    body = ctx.request.json_object()
    unknown = sorted(set(body) - {"filename", "size", "content_type"})
    if unknown:
        raise ApiError(400, "BadRequest", f"Unknown field(s): {', '.join(unknown)}")
    filename = body.get("filename")
    size = body.get("size")
    if not isinstance(filename, str) or not filename.strip():
        raise ApiError(400, "BadRequest", "filename is required")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ApiError(400, "BadRequest", "size is required and must be a non-negative integer (bytes)")
    content_type = body.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise ApiError(400, "BadRequest", "content_type must be a string")
    name = _plain_name(filename)
    ctype = media_type(name, content_type)
    if size > limit_for(ctype):
        raise ApiError(
            _too_large(ctx),
            "BadRequest",
            f"File too large: {ctype} uploads are limited to {_human(limit_for(ctype))}",
        )
    row = _new_upload(ctx, "ticket", name, ctype, size)
    put_url = f"{base_url(ctx)}{FILES}/uploads/{row['id']}?signature={signature(ctx, 'put', row['id'])}"
    data: dict[str, Any] = {
        "upload": {"method": "PUT", "url": put_url, "headers": {"Content-Type": ctype}},
        "download_url": download_url(ctx, row),
    }
    if not ctx.documented:  # the SDK reads only `upload` and `download_url` [sdk]
        data.update(filename=name, size=size)
    return ok(data)


def put_bytes(ctx: Context) -> Response:
    """The pre-signed PUT: exactly the announced number of bytes, once."""
    upload_id = ctx.params["upload_id"]
    if ctx.request.arg("signature") != signature(ctx, "put", upload_id):
        raise ApiError(403, "AccessDenied", "Request signature does not match")
    row = ctx.store.one("SELECT * FROM wavespeed_uploads WHERE id = ? AND endpoint = 'ticket'", (upload_id,))
    if row is None:
        raise ApiError(404, "NoSuchUpload", "The upload does not exist")
    declared = int(row["declared_size"] or 0)
    length = ctx.request.content_length
    if length is not None and length != declared:
        raise ApiError(
            400, "BadRequest", f"Content-Length {length} does not match the announced size {declared}"
        )
    sink = _Sink(ctx.store.blob_path(f"{row['blob']}.part"), declared)
    while chunk := ctx.request.body.read(1 << 16):
        sink.write(chunk)
    sink.finish()
    if sink.too_large or sink.size != declared:
        sink.discard()
        raise ApiError(400, "BadRequest", f"Received {sink.size} bytes, but the upload announced {declared}")
    _complete(ctx, row, sink)
    return Response(200, b"", [("ETag", f'"{signature(ctx, "etag", upload_id)}"')], length=0)


# --- multipart uploads (simple and legacy) -----------------------------------------------------
def _receive_file(ctx: Context, endpoint: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        boundary = multipart.boundary_of(ctx.request.headers.get("content-type"))
    except multipart.MultipartError as exc:
        raise ApiError(400, "BadRequest", str(exc)) from exc
    received: list[tuple[dict[str, Any], _Sink]] = []
    unexpected: list[str] = []

    def open_file(h: multipart.PartHeaders) -> multipart.Sink:
        if h.name != "file" or received:
            unexpected.append(h.name)
            return _Discard()
        name = _plain_name(h.filename)
        ctype = media_type(
            name, None if h.content_type in (None, "application/octet-stream") else h.content_type
        )
        row = _new_upload(ctx, endpoint, name, ctype, None)
        sink = _Sink(ctx.store.blob_path(f"{row['blob']}.part"), limit_for(ctype))
        received.append((row, sink))
        return sink

    def close_file(h: multipart.PartHeaders, sink: multipart.Sink) -> None:
        if isinstance(sink, _Sink):
            sink.finish()

    try:
        multipart.parse(ctx.request.body, boundary, open_file, close_file)
    except multipart.MultipartError as exc:
        for _, sink in received:
            sink.discard()
        raise ApiError(400, "BadRequest", f"Malformed multipart body: {exc}") from exc
    if not received:
        raise ApiError(400, "BadRequest", "Send the file in the multipart form field 'file'")
    row, sink = received[0]
    if unexpected:
        sink.discard()
        raise ApiError(
            400, "BadRequest", f"Unexpected file field(s): {', '.join(unexpected)}; send one 'file'"
        )
    if sink.too_large:
        raise ApiError(
            _too_large(ctx),
            "BadRequest",
            f"File too large: {row['content_type']} uploads are limited to {_human(sink.limit)}",
        )
    return _complete(ctx, row, sink), row


class _Discard:
    def write(self, data: bytes) -> None:
        pass


def upload_simple(ctx: Context) -> Response:
    row, _ = _receive_file(ctx, "simple")
    return ok({"url": download_url(ctx, row)})


def upload_legacy(ctx: Context) -> Response:
    row, _ = _receive_file(ctx, "legacy-binary")
    return ok(
        {
            "type": row["content_type"].split("/", 1)[0],
            "download_url": download_url(ctx, row),
            "filename": row["filename"],
            "size": row["size"],
        }
    )


# --- serving -----------------------------------------------------------------------------------
def _stream(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 16):
            yield chunk


def _serve(ctx: Context, row: dict[str, Any] | None) -> Response:
    if row is None:
        raise ApiError(404, "NoSuchKey", "The specified key does not exist (uploads are kept 7 days)")
    path = ctx.store.blob_path(row["blob"])
    return Response(200, _stream(path), [("Content-Type", row["content_type"])], length=row["size"])


def get_media(ctx: Context) -> Response:
    """The permissive URL form: `…/media/<id>/<file name>`."""
    row = live_upload(ctx, ctx.params["upload_id"])
    return _serve(ctx, row if row is not None and row["filename"] == ctx.params["filename"] else None)


def get_upload(ctx: Context) -> Response:
    """The documented URL form: `…/uploads/<token>.<ext>`."""
    name = ctx.params["object_name"]
    upload_id, _, _ = name.partition(".")
    row = live_upload(ctx, upload_id)
    return _serve(ctx, row if row is not None and name == upload_id + extension(row["filename"]) else None)


def routes() -> list[Route]:
    return [
        Route("POST", f"{API}/media/uploads", create_ticket),
        Route("PUT", f"{FILES}/uploads/{{upload_id}}", put_bytes, transactional=False),
        Route("POST", f"{API}/upload", upload_simple, transactional=False),
        Route("POST", f"{API}/media/upload/binary", upload_legacy, transactional=False),
        Route("GET", f"{FILES}/media/{{upload_id}}/{{filename}}", get_media, transactional=False),
        Route("GET", f"{FILES}/uploads/{{object_name}}", get_upload, transactional=False),
    ]
