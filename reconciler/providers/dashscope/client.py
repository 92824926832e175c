"""`DashScopeClient`: one method per DashScope endpoint the reconciler needs (providers.md §1).

It speaks HTTP and nothing else: no polling loops, no state, no decisions about what a resource
should be. Each method makes exactly the requests it names (plus retries the policy allows), so
callers and tests can count them. Files use the OpenAI-compatible API (`/compatible-mode/v1`),
everything else the native API (`/api/v1`).

Retry classes (see `reconciler.providers.http`):
- reads and lists, DELETE, cancel, scale: idempotent by nature, retried on temporary failures;
- export (a GET with a side effect): retried like a read. A checkpoint has a single export slot
  keyed by (job, checkpoint) [inf], and the docs themselves say to re-send when the answer is
  `false`. What a re-send answers once the first one landed is undocumented (it may be refused):
  the adapter settles a refused export by reading the checkpoint row, never by the message;
- creates (POST /files, /fine-tunes, /deployments) carry no idempotency key: retried only when the
  request surely never reached the server, else `OutcomeUnknownError`.

The API key is held in a private auth object and never appears in a repr, a log line or an error.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.providers.base_client import ProviderClient, bearer_auth
from reconciler.providers.dashscope.envelopes import (
    PROVIDER,
    business_error,
    error_from_response,
    json_body,
    malformed_response,
)
from reconciler.providers.dashscope.regions import COMPATIBLE_API_PATH, NATIVE_API_PATH
from reconciler.providers.dashscope.types import (
    Checkpoint,
    Deployment,
    DeploymentCreate,
    DeploymentPage,
    FileDeleted,
    FileList,
    FileObject,
    FineTuneCreate,
    FineTuneJob,
    FineTuneLogs,
    FineTunePage,
    ValidationDetailsPage,
)
from reconciler.providers.errors import redact
from reconciler.providers.http import Retry, RetryPolicy, stream_download

log = logging.getLogger("reconciler.providers.dashscope")

T = TypeVar("T")

FINE_TUNE_MAX_PAGE_SIZE = 100
DEPLOYMENT_MAX_PAGE_SIZE = 200
FILE_MAX_LIMIT = 2000
LOG_MAX_LINES = 1000


def _segment(value: str, what: str) -> str:
    """A path segment, percent-encoded so an id can never change the path it is put in."""
    if value in (".", ".."):
        raise ValueError(f"{what} must not be {value!r}")
    return quote(_required(value, what), safe=":@")


def _required(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string (got {value!r})")
    return value


def _query(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _page_size(value: int, maximum: int, what: str) -> int:
    if not 1 <= value <= maximum:
        raise ValueError(f"{what} must be between 1 and {maximum} (got {value})")
    return value


class DashScopeClient(ProviderClient):
    PROVIDER = PROVIDER
    API_ROOTS = (NATIVE_API_PATH, COMPATIBLE_API_PATH)
    USER_AGENT = "reconciler-dashscope/0.1"
    log = log

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        workspace: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(
            base_url,
            bearer_auth(self.require(api_key, "DashScope API key")),
            transport=transport,
            timeout=timeout,
            retry=retry,
            clock=clock,
            headers={"X-DashScope-WorkSpace": workspace} if workspace else None,
        )
        self.workspace = workspace

    def __repr__(self) -> str:
        ws = f", workspace={self.workspace!r}" if self.workspace else ""
        return f"DashScopeClient(base_url={self.base_url!r}, api_key=***{ws})"

    def download(self, url: str, destination: str | Path) -> tuple[int, str]:
        """Stream a signed media URL (a validation preview) to `destination`, without the API key;
        returns (bytes, sha256 hex)."""
        key = self.secrets[0]
        return stream_download(
            self._http,
            url,
            destination,
            provider="dashscope",
            secrets=(key,),
            policy=self._retry,
            clock=self._clock,
            timeout=self._http.timeout,
            on_error=lambda r: error_from_response(
                r, operation="download", now=self._clock.now(), api_key=key
            ),
        )

    # --- plumbing --------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry: Retry,
        parse: Callable[[Any], T],
        expected: str,
        parse_bytes: Callable[[bytes], T | None] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        build_upload: Callable[[], tuple[dict[str, Any], dict[str, Any], Callable[[], None]]] | None = None,
        replayable: bool = True,
        native: bool = True,
        missing_file_is_404: bool = False,
        headers: dict[str, str] | None = None,
    ) -> T:
        url = (NATIVE_API_PATH if native else COMPATIBLE_API_PATH) + path

        def attempt() -> T:
            closer: Callable[[], None] = lambda: None  # noqa: E731
            kwargs: dict[str, Any] = {"params": params, "json": json}
            if headers:
                kwargs["headers"] = headers
            if build_upload is not None:
                data, files, closer = build_upload()
                kwargs.update(data=data, files=files)
            try:
                response = self._request(method, url, operation=operation, **kwargs)
            finally:
                closer()
            return self._parse(
                response,
                operation=operation,
                parse=parse,
                expected=expected,
                missing_file_is_404=missing_file_is_404,
                parse_bytes=parse_bytes,
            )

        return self._with_retries(attempt, retry=retry, replayable=replayable)

    def _parse(
        self,
        response: httpx.Response,
        *,
        operation: str,
        parse: Callable[[Any], T],
        expected: str,
        missing_file_is_404: bool,
        parse_bytes: Callable[[bytes], T | None] | None = None,
    ) -> T:
        """`parse` of the JSON body, or the error the response says (or is, when malformed).

        `parse_bytes` (list pages, and the objects apply creates and reads) reads a 2xx body
        straight from its bytes into the same models `parse` makes from the decoded JSON, in one
        pass instead of two (most of a refresh's client-side cost). It answers None for anything
        but a well-formed success — invalid JSON, another shape, a business error — and then the
        ordinary checks below decide what that is, as they always have.
        """
        if parse_bytes is not None and 200 <= response.status_code < 300:
            parsed = parse_bytes(response.content)
            if parsed is not None:
                return parsed
        key = self.secrets[0]
        body = json_body(response)
        if response.status_code >= 300 or business_error(body):
            raise error_from_response(
                response,
                operation=operation,
                now=self._clock.now(),
                api_key=key,
                missing_file_is_404=missing_file_is_404,
            )
        if not isinstance(body, dict):
            raise malformed_response(response, operation=operation, expected=expected, api_key=key)
        try:
            return parse(body)
        except (ValidationError, KeyError, TypeError, ValueError) as exc:
            raise malformed_response(response, operation=operation, expected=expected, api_key=key) from exc

    # --- files (OpenAI-compatible) ---------------------------------------------------------------

    def upload_file(
        self, source: str | Path | IO[bytes], *, filename: str, purpose: str = "fine-tune"
    ) -> FileObject:
        """POST /compatible-mode/v1/files, multipart `file` + `purpose`, streamed from disk.

        A path is opened afresh for every attempt; a file object is rewound (httpx seeks to 0)
        and, if it cannot seek, gets a single attempt. The body is sent in 64 KiB chunks with a
        Content-Length computed from the file size, never read whole into memory.
        """
        if not filename:
            raise ValueError("filename must be non-empty")
        if isinstance(source, str | Path) and not Path(source).is_file():
            raise FileNotFoundError(f"dataset file to upload not found: {os.fspath(source)}")
        replayable = True
        if not isinstance(source, str | Path):
            replayable = bool(getattr(source, "seekable", lambda: False)())

        def build() -> tuple[dict[str, Any], dict[str, Any], Callable[[], None]]:
            if isinstance(source, str | Path):
                handle: IO[bytes] = open(os.fspath(source), "rb")  # noqa: SIM115 - closed by the closer
                closer = handle.close
            else:
                handle, closer = source, (lambda: None)
            return {"purpose": purpose}, {"file": (filename, handle, "application/octet-stream")}, closer

        return self._send(
            "POST",
            "/files",
            operation="upload_file",
            retry=Retry.CREATE,
            native=False,
            build_upload=build,
            replayable=replayable,
            parse=FileObject.model_validate,
            parse_bytes=_from_bytes(FileObject),
            expected="a file object",
        )

    def get_file(self, file_id: str) -> FileObject:
        return self._send(
            "GET",
            f"/files/{_segment(file_id, 'file_id')}",
            operation="get_file",
            retry=Retry.IDEMPOTENT,
            native=False,
            missing_file_is_404=True,
            parse=FileObject.model_validate,
            parse_bytes=_from_bytes(FileObject),
            expected="a file object",
        )

    def list_files(
        self,
        *,
        purpose: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        create_after: str | None = None,
        create_before: str | None = None,
    ) -> FileList:
        if limit is not None:
            _page_size(limit, FILE_MAX_LIMIT, "limit")
        params = _query(
            after=after, limit=limit, purpose=purpose, create_after=create_after, create_before=create_before
        )
        return self._send(
            "GET",
            "/files",
            operation="list_files",
            retry=Retry.IDEMPOTENT,
            native=False,
            params=params,
            parse=FileList.model_validate,
            parse_bytes=_from_bytes(FileList),
            expected="a file list",
        )

    def iter_files(
        self,
        *,
        purpose: str | None = None,
        limit: int = FILE_MAX_LIMIT,
        create_after: str | None = None,
        create_before: str | None = None,
    ) -> Iterator[FileObject]:
        """Every file matching the filters, following the `after` cursor while `has_more`."""
        after: str | None = None
        while True:
            page = self.list_files(
                purpose=purpose,
                after=after,
                limit=limit,
                create_after=create_after,
                create_before=create_before,
            )
            yield from page.data
            if not page.has_more or not page.data or page.data[-1].id == after:
                return
            after = page.data[-1].id

    def delete_file(self, file_id: str) -> bool:
        deleted = self._send(
            "DELETE",
            f"/files/{_segment(file_id, 'file_id')}",
            operation="delete_file",
            retry=Retry.IDEMPOTENT,
            native=False,
            missing_file_is_404=True,
            parse=FileDeleted.model_validate,
            expected="a deletion status",
        )
        return deleted.deleted

    # --- fine-tunes ------------------------------------------------------------------------------

    def create_fine_tune(self, body: FineTuneCreate) -> FineTuneJob:
        return self._send(
            "POST",
            "/fine-tunes",
            operation="create_fine_tune",
            retry=Retry.CREATE,
            json=body.to_body(),
            parse=lambda b: FineTuneJob.model_validate(b["output"]),
            parse_bytes=_output_from_bytes(FineTuneJob),
            expected="output: job",
        )

    def get_fine_tune(self, job_id: str) -> FineTuneJob:
        return self._send(
            "GET",
            f"/fine-tunes/{_segment(job_id, 'job_id')}",
            operation="get_fine_tune",
            retry=Retry.IDEMPOTENT,
            parse=lambda b: FineTuneJob.model_validate(b["output"]),
            parse_bytes=_output_from_bytes(FineTuneJob),
            expected="output: job",
        )

    def list_fine_tunes(
        self, *, page_no: int = 1, page_size: int = FINE_TUNE_MAX_PAGE_SIZE, model: str | None = None
    ) -> FineTunePage:
        _page_size(page_size, FINE_TUNE_MAX_PAGE_SIZE, "page_size")
        return self._send(
            "GET",
            "/fine-tunes",
            operation="list_fine_tunes",
            retry=Retry.IDEMPOTENT,
            params=_query(page_no=page_no, page_size=page_size, model=model),
            parse=lambda b: FineTunePage.model_validate(b["output"]),
            parse_bytes=_output_from_bytes(FineTunePage),
            expected="output: {jobs}",
        )

    def iter_fine_tunes(
        self, *, model: str | None = None, page_size: int = FINE_TUNE_MAX_PAGE_SIZE
    ) -> Iterator[FineTuneJob]:
        yield from _iter_pages(
            lambda n: self.list_fine_tunes(page_no=n, page_size=page_size, model=model),
            items=lambda p: p.jobs,
            page_size=page_size,
        )

    def cancel_fine_tune(self, job_id: str) -> None:
        self._send(
            "POST",
            f"/fine-tunes/{_segment(job_id, 'job_id')}/cancel",
            operation="cancel_fine_tune",
            retry=Retry.IDEMPOTENT,
            parse=_status_output,
            expected="output: {status}",
        )

    def delete_fine_tune(self, job_id: str) -> None:
        self._send(
            "DELETE",
            f"/fine-tunes/{_segment(job_id, 'job_id')}",
            operation="delete_fine_tune",
            retry=Retry.IDEMPOTENT,
            parse=_status_output,
            expected="output: {status}",
        )

    def fine_tune_logs(self, job_id: str, *, offset: int = 0, line: int = 100) -> FineTuneLogs:
        if offset < 0:
            raise ValueError(f"offset must be >= 0 (got {offset})")
        _page_size(line, LOG_MAX_LINES, "line")
        return self._send(
            "GET",
            f"/fine-tunes/{_segment(job_id, 'job_id')}/logs",
            operation="fine_tune_logs",
            retry=Retry.IDEMPOTENT,
            params={"offset": offset, "line": line},
            parse=lambda b: FineTuneLogs.model_validate(b["output"]),
            expected="output: {total, logs}",
        )

    def fine_tune_log_tail(self, job_id: str, lines: int = 20) -> list[str]:
        """The last `lines` log lines (two reads: the total, then the tail; `offset` = lines skipped),
        with the API key scrubbed should a line ever quote it."""
        total = self.fine_tune_logs(job_id, offset=0, line=1).total
        tail = self.fine_tune_logs(
            job_id, offset=max(0, total - lines), line=max(1, min(lines, LOG_MAX_LINES))
        )
        return [redact(line, *self.secrets) for line in tail.logs[-lines:]]

    def validation_results(self, job_id: str) -> list[str]:
        """Checkpoints whose validation preview succeeded (empty until training finishes)."""
        return self._send(
            "GET",
            f"/fine-tunes/{_segment(job_id, 'job_id')}/validation-results",
            operation="validation_results",
            retry=Retry.IDEMPOTENT,
            parse=lambda b: [str(item["checkpoint"]) for item in (b["output"] or [])],
            expected="output: [{checkpoint}]",
        )

    def validation_details(
        self, job_id: str, checkpoint: str, *, page_no: int = 1, page_size: int = 10
    ) -> ValidationDetailsPage:
        path = f"/fine-tunes/{_segment(job_id, 'job_id')}/validation-details/{_segment(checkpoint, 'checkpoint')}"
        return self._send(
            "GET",
            path,
            operation="validation_details",
            retry=Retry.IDEMPOTENT,
            params={"page_no": page_no, "page_size": page_size},
            parse=lambda b: ValidationDetailsPage.model_validate(b["output"]),
            expected="output: {list}",
        )

    def export_checkpoint(self, job_id: str, checkpoint: str, *, model_name: str) -> bool:
        """GET …/export/{checkpoint}?model_name=…; False means "not submitted, send again"."""
        path = f"/fine-tunes/{_segment(job_id, 'job_id')}/export/{_segment(checkpoint, 'checkpoint')}"
        return self._send(
            "GET",
            path,
            operation="export_checkpoint",
            retry=Retry.IDEMPOTENT,
            params={"model_name": _required(model_name, "model_name")},
            parse=_bool_output,
            expected="output: true|false",
        )

    def list_checkpoints(self, job_id: str) -> list[Checkpoint]:
        return self._send(
            "GET",
            f"/fine-tunes/{_segment(job_id, 'job_id')}/checkpoints",
            operation="list_checkpoints",
            retry=Retry.IDEMPOTENT,
            parse=lambda b: [Checkpoint.model_validate(item) for item in (b["output"] or [])],
            expected="output: [checkpoint]",
        )

    # --- deployments -----------------------------------------------------------------------------

    # --- video synthesis with a deployed model (providers.md §1.7) ----------------------------------

    def submit_video_synthesis(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/v1/services/aigc/…/video-synthesis`, async → `{task_id, task_status}`. A create:
        never re-sent once it may have arrived (no idempotency key, no task list to look in)."""
        return self._send(
            "POST",
            path,
            operation="video_synthesis",
            retry=Retry.CREATE,
            json=body,
            headers={"X-DashScope-Async": "enable"},
            parse=lambda b: dict(b["output"]),
            expected="output: {task_id, task_status}",
        )

    def get_task(self, task_id: str) -> dict[str, Any]:
        """`GET /api/v1/tasks/{task_id}` → `output` (task_status UNKNOWN for an id that does not exist)."""
        return self._send(
            "GET",
            f"/tasks/{_segment(task_id, 'task_id')}",
            operation="get_task",
            retry=Retry.IDEMPOTENT,
            parse=lambda b: dict(b["output"]),
            expected="output: {task_id, task_status}",
        )

    def create_deployment(self, body: DeploymentCreate) -> Deployment:
        return self._send(
            "POST",
            "/deployments",
            operation="create_deployment",
            retry=Retry.CREATE,
            json=body.to_body(),
            parse=lambda b: Deployment.model_validate(b["output"]),
            parse_bytes=_output_from_bytes(Deployment),
            expected="output: deployment",
        )

    def get_deployment(self, deployed_model: str) -> Deployment:
        return self._send(
            "GET",
            f"/deployments/{_segment(deployed_model, 'deployed_model')}",
            operation="get_deployment",
            retry=Retry.IDEMPOTENT,
            parse=lambda b: Deployment.model_validate(b["output"]),
            parse_bytes=_output_from_bytes(Deployment),
            expected="output: deployment",
        )

    def list_deployments(
        self, *, page_no: int = 1, page_size: int = DEPLOYMENT_MAX_PAGE_SIZE
    ) -> DeploymentPage:
        _page_size(page_size, DEPLOYMENT_MAX_PAGE_SIZE, "page_size")
        return self._send(
            "GET",
            "/deployments",
            operation="list_deployments",
            retry=Retry.IDEMPOTENT,
            params={"page_no": page_no, "page_size": page_size},
            parse=lambda b: DeploymentPage.model_validate(b["output"]),
            parse_bytes=_output_from_bytes(DeploymentPage),
            expected="output: {deployments}",
        )

    def iter_deployments(self, *, page_size: int = DEPLOYMENT_MAX_PAGE_SIZE) -> Iterator[Deployment]:
        yield from _iter_pages(
            lambda n: self.list_deployments(page_no=n, page_size=page_size),
            items=lambda p: p.deployments,
            page_size=page_size,
        )

    def scale_deployment(self, deployed_model: str, capacity: int) -> Deployment:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive integer (got {capacity!r})")
        return self._send(
            "PUT",
            f"/deployments/{_segment(deployed_model, 'deployed_model')}/scale",
            operation="scale_deployment",
            retry=Retry.IDEMPOTENT,
            json={"capacity": capacity},
            parse=lambda b: Deployment.model_validate(b["output"]),
            parse_bytes=_output_from_bytes(Deployment),
            expected="output: deployment",
        )

    def delete_deployment(self, deployed_model: str) -> Deployment:
        return self._send(
            "DELETE",
            f"/deployments/{_segment(deployed_model, 'deployed_model')}",
            operation="delete_deployment",
            retry=Retry.IDEMPOTENT,
            parse=lambda b: Deployment.model_validate(b["output"]),
            parse_bytes=_output_from_bytes(Deployment),
            expected="output: deployment",
        )


M = TypeVar("M", bound=BaseModel)


def _from_bytes(model: type[M]) -> Callable[[bytes], M | None]:
    """A `parse_bytes` for a body that is `model` itself (the OpenAI-compatible API's lists)."""

    def parse_bytes(content: bytes) -> M | None:
        try:
            value = model.model_validate_json(content)
        except ValueError:  # a ValidationError: not JSON, or not this shape
            return None
        # a top-level `code` or `error` on a 2xx is an error (kept by `extra="allow"`)
        return None if business_error(value.model_extra or {}) else value

    return parse_bytes


@functools.cache
def _envelope(model: type[BaseModel]) -> type[BaseModel]:
    """`{"output": model, ...}`, the native API's success envelope (made on first use: a plan
    without refresh builds no schema for it)."""
    envelope: type[BaseModel] = create_model(
        f"{model.__name__}Envelope", __config__=ConfigDict(extra="allow"), output=(model, ...)
    )
    return envelope


def _output_from_bytes(model: type[M]) -> Callable[[bytes], M | None]:
    """A `parse_bytes` for `{"output": model}`: what `model.model_validate(body["output"])` gives."""

    def parse_bytes(content: bytes) -> M | None:
        try:
            value = _envelope(model).model_validate_json(content)
        except ValueError:  # a ValidationError: not JSON, or not this shape
            return None
        if business_error(value.model_extra or {}):
            return None
        output: M = value.output  # type: ignore[attr-defined]  # the envelope's one field
        return output

    return parse_bytes


def _status_output(body: dict[str, Any]) -> None:
    output = body.get("output")
    if not isinstance(output, dict):
        raise ValueError("missing output")


def _bool_output(body: dict[str, Any]) -> bool:
    output = body["output"]
    if not isinstance(output, bool):
        raise ValueError("output is not a boolean")
    return output


P = TypeVar("P")
I = TypeVar("I")  # noqa: E741


def _iter_pages(fetch: Callable[[int], P], *, items: Callable[[P], list[I]], page_size: int) -> Iterator[I]:
    """Pages 1, 2, … until the reported total is reached (or, without a total, a page comes back short).

    The total is trusted over the page length because a server may cap `page_size` below what
    was asked; an empty page always ends the walk.
    """
    page_no = 1
    seen = 0
    while True:
        page = fetch(page_no)
        batch = items(page)
        yield from batch
        seen += len(batch)
        total = getattr(page, "total", None)
        if not batch or (seen >= total if total is not None else len(batch) < page_size):
            return
        page_no += 1


__all__ = [
    "DEPLOYMENT_MAX_PAGE_SIZE",
    "FILE_MAX_LIMIT",
    "FINE_TUNE_MAX_PAGE_SIZE",
    "LOG_MAX_LINES",
    "DashScopeClient",
]
