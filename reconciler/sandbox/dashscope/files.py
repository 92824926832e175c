"""DashScope files: the OpenAI-compatible `/compatible-mode/v1/files` API and the native `/api/v1/files`.

Uploads stream to a blob beside the database (never whole in memory) with limits checked as
bytes arrive; a Wan dataset zip is inspected once, at upload, for its `data.jsonl` line count
(which sizes training jobs) and a few prompts (which fill validation details). Both APIs share
one table, so files uploaded through either appear in both lists, as the 3p note says.

Documented fidelity: a new file is `uploaded`, then `processing`, and only then `processed` [doc]
(the seed's upload answer shows `processed` at once: the convenient shape, kept for permissive).
The status is derived from the upload time and the time scale; no column stores it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconciler.sandbox import multipart
from reconciler.sandbox.dashscope.common import (
    COMPATIBLE,
    FILE_PROCESSING_S,
    FILE_UPLOADED_S,
    NATIVE,
    USER_ID,
    fmt_iso,
    int_arg,
    page,
    parse_list_time,
)
from reconciler.sandbox.routing import ApiError, Context, Response, Route

MAX_ZIP_BYTES = 1024**3  # "zip ≤ 1 GB via API"
MAX_OTHER_BYTES = 300 * 1024**2  # fine-tune jsonl ≤ 300 MB
MAX_LIVE_FILES = 10_000
MAX_TOTAL_BYTES = 100 * 1024**3
PURPOSES = ("fine-tune", "batch", "file-extract")
ID_PREFIX = {"fine-tune": "file-ft-", "batch": "file-batch-", "file-extract": "file-fe-"}
KEPT_RECORDS = 200  # data.jsonl records remembered for validation details

SCHEMA = """
CREATE TABLE IF NOT EXISTS dashscope_files (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    api TEXT NOT NULL,
    filename TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    description TEXT,
    md5 TEXT NOT NULL,
    created REAL NOT NULL,
    blob TEXT NOT NULL,
    samples INTEGER,
    records TEXT NOT NULL DEFAULT '[]',
    deleted REAL
);
CREATE INDEX IF NOT EXISTS dashscope_files_created ON dashscope_files(created, seq);
CREATE TABLE IF NOT EXISTS dashscope_file_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL
)
"""


# --- upload plumbing -------------------------------------------------------------------------
class _BlobSink:
    """Writes one uploaded file to disk, hashing and counting; over the limit it discards the rest."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self.md5 = hashlib.md5()
        self.failed: str | None = None
        self._fh: Any = open(path, "wb")  # noqa: SIM115 (closed in finish)

    def write(self, data: bytes) -> None:
        if self.failed:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.failed = f"File size exceeds the limit of {_human(self.limit)}"
            self._fh.close()
            self.path.unlink(missing_ok=True)
            return
        self._fh.write(data)
        self.md5.update(data)

    def finish(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def discard(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)


class _DiscardSink:
    def write(self, data: bytes) -> None:
        pass


def _human(n: int) -> str:
    return f"{n // 1024**3} GB" if n >= 1024**3 else f"{n // 1024**2} MB"


def _limit_for(filename: str) -> int:
    return MAX_ZIP_BYTES if filename.lower().endswith(".zip") else MAX_OTHER_BYTES


def _receive(
    ctx: Context, file_fields: tuple[str, ...]
) -> tuple[list[tuple[str, str]], list[tuple[str, str, _BlobSink]], list[str]]:
    """Stream the multipart body: (plain fields, [(field, filename, sink)], unexpected file fields)."""
    try:
        boundary = multipart.boundary_of(ctx.request.headers.get("content-type"))
    except multipart.MultipartError as exc:
        raise ApiError(400, "InvalidParameter", str(exc)) from exc
    uploads: list[tuple[str, str, _BlobSink]] = []
    unexpected: list[str] = []

    def open_file(h: multipart.PartHeaders) -> multipart.Sink:
        if h.name not in file_fields:
            unexpected.append(h.name)
            return _DiscardSink()
        filename = os.path.basename(h.filename or "") or "upload"
        tmp = ctx.store.blob_path(f"upload-{ctx.store.token(ctx.seed, 'upload', 16)}.part")
        sink = _BlobSink(tmp, _limit_for(filename))
        uploads.append((h.name, filename, sink))
        return sink

    def close_file(h: multipart.PartHeaders, sink: multipart.Sink) -> None:
        if isinstance(sink, _BlobSink):
            sink.finish()

    try:
        fields = multipart.parse(ctx.request.body, boundary, open_file, close_file)
    except multipart.MultipartError as exc:
        for _, _, sink in uploads:
            sink.discard()
        raise ApiError(400, "InvalidParameter", f"Malformed multipart body: {exc}") from exc
    return fields, uploads, unexpected


def inspect_dataset(path: Path) -> tuple[int | None, list[dict[str, str]]]:
    """(number of data.jsonl records, the first few records) of a Wan dataset zip; (None, []) if unreadable."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "data.jsonl"]
            if not names:
                return None, []
            count = 0
            records: list[dict[str, str]] = []
            with zf.open(min(names, key=lambda n: n.count("/"))) as fh:
                for raw in fh:
                    line = raw.strip()
                    if not line:
                        continue
                    count += 1
                    if len(records) < KEPT_RECORDS:
                        try:
                            obj = json.loads(line)
                        except ValueError:
                            obj = {}
                        if isinstance(obj, dict):
                            records.append(
                                {
                                    k: str(obj[k])
                                    for k in ("prompt", "first_frame_path", "last_frame_path")
                                    if k in obj
                                }
                            )
            return count, records
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return None, []


def _store_upload(
    ctx: Context, api: str, filename: str, purpose: str, description: str | None, sink: _BlobSink
) -> dict[str, Any]:
    """Check account limits and persist one received file; returns its row."""
    live = _live_totals(ctx)
    if live["files"] >= MAX_LIVE_FILES:
        sink.discard()
        raise ApiError(
            400,
            "InvalidParameter",
            f"The number of files exceeds the limit of {MAX_LIVE_FILES}; delete unused files first.",
        )
    if live["bytes"] + sink.size > MAX_TOTAL_BYTES:
        sink.discard()
        raise ApiError(
            400,
            "InvalidParameter",
            "The total size of files exceeds the limit of 100 GB; delete unused files first.",
        )
    seq = ctx.store.next_counter("dashscope_file")
    if api == "native":
        h = ctx.store.token(ctx.seed, "dashscope_file_id", 32)
        file_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    else:
        file_id = ID_PREFIX[purpose] + ctx.store.token(ctx.seed, "dashscope_file_id", 24)
    blob = f"dashscope-{file_id}"
    os.replace(sink.path, ctx.store.blob_path(blob))
    samples: int | None = None
    records: list[Any] = []
    if filename.lower().endswith(".zip"):
        samples, records = inspect_dataset(ctx.store.blob_path(blob))
    ctx.store.execute(
        "INSERT INTO dashscope_files (id, seq, api, filename, bytes, purpose, description, md5, created, blob, samples, records)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            file_id,
            seq,
            api,
            filename,
            sink.size,
            purpose,
            description,
            sink.md5.hexdigest(),
            ctx.now,
            blob,
            samples,
            json.dumps(records, ensure_ascii=False),
        ),
    )
    _add_to_totals(ctx, 1, sink.size)
    row = ctx.store.one("SELECT * FROM dashscope_files WHERE id = ?", (file_id,))
    assert row is not None
    return row


def _live_totals(ctx: Context) -> dict[str, int]:
    """The account's live file count and bytes, for the limits checked on every upload.

    Kept as a running total (one row) because counting the live files on each upload made an
    apply of N datasets quadratic in N inside the emulator. A database made before the row
    existed gets it counted once, here. Callers hold the upload's transaction."""
    row = ctx.store.one("SELECT files, bytes FROM dashscope_file_totals WHERE id = 1")
    if row is None:
        row = ctx.store.one(
            "SELECT COUNT(*) AS files, COALESCE(SUM(bytes), 0) AS bytes FROM dashscope_files"
            " WHERE deleted IS NULL"
        )
        assert row is not None
        ctx.store.execute(
            "INSERT INTO dashscope_file_totals (id, files, bytes) VALUES (1, ?, ?)",
            (row["files"], row["bytes"]),
        )
    return row


def _add_to_totals(ctx: Context, files: int, size: int) -> None:
    """With no row yet this changes nothing: the next `_live_totals` counts the files as they are."""
    ctx.store.execute(
        "UPDATE dashscope_file_totals SET files = files + ?, bytes = bytes + ? WHERE id = 1", (files, size)
    )


def live_file(ctx: Context, file_id: str) -> dict[str, Any] | None:
    return ctx.store.one("SELECT * FROM dashscope_files WHERE id = ? AND deleted IS NULL", (file_id,))


def file_status(ctx: Context, row: dict[str, Any]) -> str:
    """`uploaded` → `processing` → `processed` in documented fidelity [doc]; `processed` at once otherwise."""
    if not ctx.documented:
        return "processed"
    emulated_age = (ctx.now - row["created"]) * ctx.time_scale
    if emulated_age < FILE_UPLOADED_S:
        return "uploaded"
    if emulated_age < FILE_UPLOADED_S + FILE_PROCESSING_S:
        return "processing"
    return "processed"


# --- views -----------------------------------------------------------------------------------
_LISTED_COLUMNS = "id, bytes, filename, purpose, created"  # what `compatible_view` reads


def compatible_view(ctx: Context, row: dict[str, Any], detailed: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row["id"],
        "object": "file",
        "bytes": row["bytes"],
        "filename": row["filename"],
        "purpose": row["purpose"],
        "status": file_status(ctx, row),
        "created_at": int(row["created"]),
    }
    if detailed:
        view["status_details"] = None
    return view


def native_view(row: dict[str, Any], now: float) -> dict[str, Any]:
    expires = int(now + 3600)
    signature = hashlib.sha256(f"{row['id']}:{expires}".encode()).hexdigest()[:28]
    return {
        "file_id": row["id"],
        "name": row["filename"],
        "description": row["description"] or "",
        "size": row["bytes"],
        "md5": row["md5"],
        "gmt_create": fmt_iso(row["created"]),
        "url": f"https://sandbox-files.oss.invalid/{row['id']}/{row['filename']}"
        f"?Expires={expires}&OSSAccessKeyId=sandbox&Signature={signature}",
        "id": row["seq"],
        "region": "sandbox",
        "user_id": USER_ID,
        "api_key_id": "sandbox-key",
        "purpose": row["purpose"],
    }


# --- OpenAI-compatible API -------------------------------------------------------------------
def upload_compatible(ctx: Context) -> Response:
    fields, uploads, unexpected = _receive(ctx, ("file",))
    try:
        unknown = sorted({name for name, _ in fields if name != "purpose"} | set(unexpected))
        if unknown:
            raise ApiError(
                400,
                "InvalidParameter",
                f"Unknown form field(s): {', '.join(unknown)}; send only file and purpose",
            )
        if len(uploads) != 1:
            raise ApiError(400, "InvalidParameter", "Send exactly one file in the form field 'file'")
        purposes = [v for name, v in fields if name == "purpose"]
        if not purposes:
            raise ApiError(400, "InvalidParameter", "Missing form field 'purpose' (use fine-tune)")
        purpose = purposes[-1]
        if purpose not in PURPOSES:
            raise ApiError(
                400, "InvalidParameter", f"Invalid purpose {purpose!r}: use one of {', '.join(PURPOSES)}"
            )
        _, filename, sink = uploads[0]
        if sink.failed:
            raise ApiError(400, "InvalidParameter", f"{sink.failed} for {filename}")
        with ctx.store.transaction():
            row = _store_upload(ctx, "compatible", filename, purpose, None, sink)
    except ApiError:
        for _, _, s in uploads:
            s.discard()
        raise
    return Response.json(200, compatible_view(ctx, row, detailed=False))


def get_compatible(ctx: Context) -> Response:
    row = live_file(ctx, ctx.params["file_id"])
    if row is None:
        raise ApiError(404, "NotFound", f"File {ctx.params['file_id']} not found.")
    return Response.json(200, compatible_view(ctx, row))


def list_compatible(ctx: Context) -> Response:
    limit = int_arg(ctx, "limit", 2000, 1, 2000)
    where: list[str] = ["deleted IS NULL"]
    params: list[str | float] = []
    purpose = ctx.request.arg("purpose")
    if purpose:
        where.append("purpose = ?")
        params.append(purpose)
    for arg, op in (("create_after", ">="), ("create_before", "<=")):
        value = ctx.request.arg(arg)
        if value:
            where.append(f"created {op} ?")
            params.append(parse_list_time(value))
    # only the columns a listed file shows (`compatible_view`): not each file's validation records
    rows = ctx.store.query(
        f"SELECT {_LISTED_COLUMNS} FROM dashscope_files WHERE {' AND '.join(where)}"
        " ORDER BY created DESC, seq DESC",
        params,
    )
    after = ctx.request.arg("after")
    if after:
        ids = [r["id"] for r in rows]
        if after not in ids:
            raise ApiError(400, "InvalidParameter", f"after: no file {after!r} in this listing")
        rows = rows[ids.index(after) + 1 :]
    return Response.json(
        200,
        {
            "object": "list",
            "has_more": len(rows) > limit,
            "data": [compatible_view(ctx, r) for r in rows[:limit]],
        },
    )


def delete_compatible(ctx: Context) -> Response:
    row = live_file(ctx, ctx.params["file_id"])
    if row is None:
        raise ApiError(404, "NotFound", f"File {ctx.params['file_id']} not found.")
    _delete(ctx, row)
    return Response.json(200, {"object": "file", "deleted": True, "id": row["id"]})


def _delete(ctx: Context, row: dict[str, Any]) -> None:
    # `row` was read live in this request's transaction, so it is subtracted exactly once
    ctx.store.execute("UPDATE dashscope_files SET deleted = ? WHERE id = ?", (ctx.now, row["id"]))
    _add_to_totals(ctx, -1, -row["bytes"])
    ctx.store.blob_path(row["blob"]).unlink(missing_ok=True)


def content_compatible(ctx: Context) -> Response:
    row = live_file(ctx, ctx.params["file_id"])
    if row is None:
        raise ApiError(404, "NotFound", f"File {ctx.params['file_id']} not found.")
    path = ctx.store.blob_path(row["blob"])

    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                yield chunk

    return Response(
        200,
        chunks(),
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Disposition", f'attachment; filename="{row["filename"]}"'),
        ],
        length=row["bytes"],
    )


# --- native API ------------------------------------------------------------------------------
def upload_native(ctx: Context) -> Response:
    fields, uploads, unexpected = _receive(ctx, ("files",))
    try:
        unknown = sorted({n for n, _ in fields if n not in ("purpose", "descriptions")} | set(unexpected))
        if unknown:
            raise ApiError(400, "InvalidParameter", f"Unknown form field(s): {', '.join(unknown)}")
        if not uploads:
            raise ApiError(400, "InvalidParameter", "Send at least one file in the form field 'files'")
        purpose = next((v for n, v in reversed(fields) if n == "purpose"), "fine-tune")
        if purpose not in PURPOSES:
            raise ApiError(
                400, "InvalidParameter", f"Invalid purpose {purpose!r}: use one of {', '.join(PURPOSES)}"
            )
        descriptions = [v for n, v in fields if n == "descriptions"]
    except ApiError:
        for _, _, s in uploads:
            s.discard()
        raise
    uploaded, failed = [], []
    for i, (_, filename, sink) in enumerate(uploads):
        if sink.failed:
            failed.append({"name": filename, "code": "InvalidParameter", "message": sink.failed})
            sink.discard()
            continue
        try:
            with ctx.store.transaction():
                row = _store_upload(
                    ctx, "native", filename, purpose, descriptions[i] if i < len(descriptions) else None, sink
                )
        except ApiError as err:
            failed.append({"name": filename, "code": err.code, "message": err.message})
            continue
        uploaded.append({"name": filename, "file_id": row["id"]})
    return Response.json(
        200, {"request_id": ctx.request_id, "data": {"uploaded_files": uploaded, "failed_uploads": failed}}
    )


def _native_row(ctx: Context) -> dict[str, Any]:
    row = live_file(ctx, ctx.params["file_id"])
    if row is None:
        raise ApiError(400, "InvalidParameter", "File not found.")
    return row


def get_native(ctx: Context) -> Response:
    return Response.json(200, {"request_id": ctx.request_id, "data": native_view(_native_row(ctx), ctx.now)})


def list_native(ctx: Context) -> Response:
    page_no = int_arg(ctx, "page_no", 1, 1, 1_000_000)
    page_size = int_arg(ctx, "page_size", 10, 1, 100)
    rows = ctx.store.query(
        "SELECT * FROM dashscope_files WHERE deleted IS NULL ORDER BY created DESC, seq DESC"
    )
    return Response.json(
        200,
        {
            "request_id": ctx.request_id,
            "data": {
                "total": len(rows),
                "page_no": page_no,
                "page_size": page_size,
                "files": [native_view(r, ctx.now) for r in page(rows, page_no, page_size)],
            },
        },
    )


def delete_native(ctx: Context) -> Response:
    _delete(ctx, _native_row(ctx))
    return Response.json(200, {"request_id": ctx.request_id})


def routes() -> list[Route]:
    return [
        Route("POST", f"{COMPATIBLE}/files", upload_compatible, transactional=False),
        Route("GET", f"{COMPATIBLE}/files", list_compatible),
        Route("GET", f"{COMPATIBLE}/files/{{file_id}}", get_compatible),
        Route("DELETE", f"{COMPATIBLE}/files/{{file_id}}", delete_compatible),
        Route("GET", f"{COMPATIBLE}/files/{{file_id}}/content", content_compatible),
        Route("POST", f"{NATIVE}/files", upload_native, transactional=False),
        Route("GET", f"{NATIVE}/files", list_native),
        Route("GET", f"{NATIVE}/files/{{file_id}}", get_native),
        Route("DELETE", f"{NATIVE}/files/{{file_id}}", delete_native),
    ]
