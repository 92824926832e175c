"""`WaveSpeedClient`: one method per WaveSpeed endpoint the reconciler needs (providers.md §2).

It speaks HTTP and nothing else: no polling loops, no state, no decisions about resources. Each
method makes exactly the requests it names (plus the retries its class allows), so callers and
tests can count them.

Retry classes (see `reconciler.providers.http`):
- the trainer submit (`POST /api/v3/{model_id}`) creates a billed task and has no idempotency
  key: it is re-sent only when the server surely did not act (connection refused, a 429 or 503
  *answer*); after anything ambiguous it raises `OutcomeUnknownError` and the caller looks the
  prediction up in the history — exactly what the official SDK refuses to do blindly, too;
- result, history and delete are reads or idempotent by nature: retried on 429/5xx/resets;
- uploads are retried like reads: a duplicate upload is harmless (unbilled, unlisted, and gone
  after 7 days), and the PUT to a ticket URL overwrites the same object.

Media upload tries the current two-step ticket upload, then the simple and the legacy endpoint,
moving on only when an endpoint answers 404/405 (it does not exist on this deployment). Files
stream from disk, never read whole into memory.

The API key lives in a private auth object: never in a repr, a log line or an error. The PUT to
a ticket URL and downloads of output URLs carry no key (they are pre-signed / public).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.wavespeed import trainer_model_id
from reconciler.providers.base_client import ProviderClient, bearer_auth
from reconciler.providers.errors import (
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    ServerError,
)
from reconciler.providers.http import Retry, RetryPolicy, check_direct_url, stream_download
from reconciler.providers.wavespeed.envelopes import (
    PROVIDER,
    error_from_response,
    is_error,
    json_body,
    malformed_response,
)
from reconciler.providers.wavespeed.types import (
    Prediction,
    PredictionPage,
    TrainerInputs,
    UploadedMedia,
    UploadTicket,
)

log = logging.getLogger("reconciler.providers.wavespeed")

T = TypeVar("T")

API_PATH = "/api/v3"
HISTORY_MAX_PAGE_SIZE = 100
DELETE_BATCH = 100  # the docs give no cap on `ids`; stay modest
SUBMIT_READ_TIMEOUT = 60.0  # the SDK's default for the submit POST: a timeout there is ambiguous
UPLOAD_READ_TIMEOUT = 120.0  # the SDK's default for upload requests
CHUNK = 1 << 16
UPLOAD_ENDPOINTS = ("ticket", "simple", "legacy-binary")


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string (got {value!r})")
    if value in (".", ".."):
        raise ValueError(f"{what} must not be {value!r}")
    return quote(value, safe=":@")


def model_path(model_id: str) -> str:
    """`/api/v3/wavespeed-ai/wan-2.2-image-lora-trainer`: each segment encoded on its own."""
    parts = model_id.split("/") if isinstance(model_id, str) else []
    if len(parts) < 2:
        raise ValueError(f"model id must look like 'owner/model' (got {model_id!r})")
    return API_PATH + "/" + "/".join(_segment(p, "model id segment") for p in parts)


def iso_time(value: float | str) -> str:
    """History filters take ISO timestamps; epoch seconds are converted (UTC, milliseconds)."""
    if isinstance(value, str):
        return value
    text = datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _endpoint_missing(exc: ProviderError) -> bool:
    """404/405 from an upload endpoint: this deployment does not have it, try the next one."""
    if isinstance(exc, NotFoundError):
        return True
    return isinstance(exc, InvalidRequestError) and (exc.status == 405 or exc.code == "405")


class WaveSpeedClient(ProviderClient):
    PROVIDER = PROVIDER
    API_ROOTS = (API_PATH,)
    USER_AGENT = "reconciler-wavespeed/0.1"
    log = log

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(
            base_url,
            bearer_auth(self.require(api_key, "WaveSpeed API key")),
            transport=transport,
            timeout=timeout,
            retry=retry,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"WaveSpeedClient(base_url={self.base_url!r}, api_key=***)"

    # --- plumbing --------------------------------------------------------------------------------

    def _attempt(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        authenticated: bool = True,
        read_timeout: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        timeout = httpx.Timeout(self._timeout, read=max(self._timeout, read_timeout or 0.0))
        if not authenticated:
            kwargs["auth"] = None  # this request goes to a presigned URL: no key beside it
        return self._request(method, url, operation=operation, timeout=timeout, **kwargs)

    def _envelope(
        self, response: httpx.Response, *, operation: str, parse: Callable[[Any], T], expected: str
    ) -> T:
        key = self.secrets[0]
        body = json_body(response)
        if is_error(response, body):
            raise error_from_response(response, operation=operation, now=self._clock.now(), api_key=key)
        if not isinstance(body, dict) or "data" not in body:
            raise malformed_response(response, operation=operation, expected=expected, api_key=key)
        try:
            return parse(body["data"])
        except (ValidationError, KeyError, TypeError, ValueError) as exc:
            raise malformed_response(response, operation=operation, expected=expected, api_key=key) from exc

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry: Retry,
        parse: Callable[[Any], T],
        expected: str,
        read_timeout: float | None = None,
        build: Callable[[], tuple[dict[str, Any], Callable[[], None]]] | None = None,
        **kwargs: Any,
    ) -> T:
        def attempt() -> T:
            extra, closer = build() if build is not None else ({}, lambda: None)
            try:
                response = self._attempt(
                    method, path, operation=operation, read_timeout=read_timeout, **kwargs, **extra
                )
            finally:
                closer()
            return self._envelope(response, operation=operation, parse=parse, expected=expected)

        return self._with_retries(attempt, retry=retry)

    # --- media upload ----------------------------------------------------------------------------

    def upload_media(
        self, path: str | Path, *, filename: str | None = None, content_type: str = "application/zip"
    ) -> UploadedMedia:
        """Upload a file from disk; returns the URL a trainer's `data` can point at.

        Tries the ticket upload, then `/upload`, then the legacy `/media/upload/binary`, each
        only if the previous one answered 404/405.
        """
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"file to upload not found: {os.fspath(source)}")
        name = filename or source.name
        if not name or "/" in name or "\\" in name:
            raise ValueError(f"upload file name must be a plain file name (got {name!r})")
        size = source.stat().st_size
        last: ProviderError | None = None
        for endpoint in UPLOAD_ENDPOINTS:
            try:
                if endpoint == "ticket":
                    url = self._upload_with_ticket(source, name, size, content_type)
                else:
                    url = self._upload_multipart(endpoint, source, name, content_type)
            except ProviderError as exc:
                if not _endpoint_missing(exc):
                    raise
                log.info(
                    "wavespeed upload: %s endpoint unavailable (%s); trying the next one",
                    endpoint,
                    exc.status,
                )
                last = exc
                continue
            return UploadedMedia(url=url, filename=name, size=size, endpoint=endpoint)
        assert last is not None
        raise last

    def create_upload_ticket(self, filename: str, size: int, content_type: str | None = None) -> UploadTicket:
        """`POST /api/v3/media/uploads` — step one of the current upload."""
        body: dict[str, Any] = {"filename": filename, "size": size}
        if content_type:
            body["content_type"] = content_type
        return self._call(
            "POST",
            f"{API_PATH}/media/uploads",
            operation="create_upload",
            retry=Retry.IDEMPOTENT,
            json=body,
            read_timeout=UPLOAD_READ_TIMEOUT,
            parse=UploadTicket.model_validate,
            expected="data: {upload: {method, url, headers}, download_url}",
        )

    def _upload_with_ticket(self, source: Path, filename: str, size: int, content_type: str) -> str:
        ticket = self.create_upload_ticket(filename, size, content_type)
        if ticket.upload.method.upper() != "PUT" or not ticket.upload.url:
            raise ServerError(
                f"invalid upload instruction: method {ticket.upload.method!r} (expected PUT) or no URL",
                provider=PROVIDER,
                operation="create_upload",
            )
        target = check_direct_url(ticket.upload.url, "upload URL")
        check_direct_url(ticket.download_url, "download URL")
        headers = {**ticket.upload.headers, "Content-Length": str(size)}

        def attempt() -> None:
            # The ticket URL is pre-signed: it gets the bytes and the headers it names, never our key.
            response = self._attempt(
                "PUT",
                str(target),
                operation="upload_file",
                authenticated=False,
                read_timeout=UPLOAD_READ_TIMEOUT,
                headers=headers,
                content=_chunks(source),
            )
            if not 200 <= response.status_code < 300:
                raise error_from_response(
                    response, operation="upload_file", now=self._clock.now(), api_key=self.secrets[0]
                )

        self._with_retries(attempt, retry=Retry.IDEMPOTENT)
        return ticket.download_url

    def _upload_multipart(self, endpoint: str, source: Path, filename: str, content_type: str) -> str:
        path, key = {
            "simple": (f"{API_PATH}/upload", "url"),
            "legacy-binary": (f"{API_PATH}/media/upload/binary", "download_url"),
        }[endpoint]

        def build() -> tuple[dict[str, Any], Callable[[], None]]:
            handle = open(source, "rb")  # noqa: SIM115 - closed by the closer after the attempt
            return {"files": {"file": (filename, handle, content_type)}}, handle.close

        return self._call(
            "POST",
            path,
            operation=f"upload_{endpoint.replace('-', '_')}",
            retry=Retry.IDEMPOTENT,
            build=build,
            read_timeout=UPLOAD_READ_TIMEOUT,
            parse=lambda d: _url_field(d, key),
            expected=f"data: {{{key}}}",
        )

    # --- predictions -----------------------------------------------------------------------------

    def submit(self, model_id: str, inputs: dict[str, Any], *, webhook: str | None = None) -> Prediction:
        """`POST /api/v3/{model_id}` with the flat inputs; never re-sent once it may have arrived."""
        params = {"webhook": webhook} if webhook else None
        return self._call(
            "POST",
            model_path(model_id),
            operation="submit",
            retry=Retry.CREATE,
            json=inputs,
            params=params,
            read_timeout=SUBMIT_READ_TIMEOUT,
            parse=Prediction.model_validate,
            expected="data: prediction",
        )

    def submit_trainer(
        self, trainer: str, inputs: TrainerInputs, *, webhook: str | None = None
    ) -> Prediction:
        """`POST /api/v3/wavespeed-ai/<trainer>` — one LoRA training run."""
        return self.submit(trainer_model_id(trainer), inputs.to_body(), webhook=webhook)

    def model_pricing(self, model_id: str, inputs: Mapping[str, Any]) -> float:
        """`POST /api/v3/model/pricing` `{"model_id", "inputs"}` -> `data.unit_price`: what one request
        with these inputs costs (providers.md §2.7 [sdk-desktop]). A read: safe to retry."""
        return self._call(
            "POST",
            f"{API_PATH}/model/pricing",
            operation="model_pricing",
            retry=Retry.IDEMPOTENT,
            json={"model_id": model_id, "inputs": dict(inputs)},
            parse=_unit_price,
            expected="data: {unit_price}",
        )

    def get_result(self, prediction_id: str) -> Prediction:
        """`GET /api/v3/predictions/{id}/result` — the canonical poll (`data.urls.get`)."""
        return self._call(
            "GET",
            f"{API_PATH}/predictions/{_segment(prediction_id, 'prediction id')}/result",
            operation="get_result",
            retry=Retry.IDEMPOTENT,
            parse=Prediction.model_validate,
            expected="data: prediction",
        )

    def list_predictions(
        self,
        *,
        page: int = 1,
        page_size: int = HISTORY_MAX_PAGE_SIZE,
        model: str | None = None,
        status: str | None = None,
        created_after: float | str | None = None,
        created_before: float | str | None = None,
    ) -> PredictionPage:
        """`POST /api/v3/predictions` — history of the last 7 days. Not for polling status."""
        if page < 1:
            raise ValueError(f"page must be >= 1 (got {page})")
        if not 1 <= page_size <= HISTORY_MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {HISTORY_MAX_PAGE_SIZE} (got {page_size})")
        body: dict[str, Any] = {"page": page, "page_size": page_size}
        if model:
            body["model"] = model
        if status:
            body["status"] = status
        if created_after is not None:
            body["created_after"] = iso_time(created_after)
        if created_before is not None:
            body["created_before"] = iso_time(created_before)
        return self._call(
            "POST",
            f"{API_PATH}/predictions",
            operation="list_predictions",
            retry=Retry.IDEMPOTENT,
            json=body,
            parse=PredictionPage.model_validate,
            expected="data: {page, items}",
        )

    def iter_predictions(
        self,
        *,
        model: str | None = None,
        status: str | None = None,
        created_after: float | str | None = None,
        created_before: float | str | None = None,
        page_size: int = HISTORY_MAX_PAGE_SIZE,
    ) -> Iterator[Prediction]:
        """Every history item matching the filters, page by page until the total (or a short page)."""
        page, seen = 1, 0
        while True:
            batch = self.list_predictions(
                page=page,
                page_size=page_size,
                model=model,
                status=status,
                created_after=created_after,
                created_before=created_before,
            )
            yield from batch.items
            seen += len(batch.items)
            if not batch.items:
                return
            if batch.total is not None:
                if seen >= batch.total:
                    return
            elif len(batch.items) < page_size:
                return
            page += 1

    def delete_predictions(self, ids: Iterable[str]) -> int:
        """`POST /api/v3/predictions/delete` — irreversible; unknown ids are ignored. Returns the count."""
        wanted = list(ids)
        for prediction_id in wanted:
            _segment(prediction_id, "prediction id")
        deleted = 0
        for start in range(0, len(wanted), DELETE_BATCH):
            deleted += self._call(
                "POST",
                f"{API_PATH}/predictions/delete",
                operation="delete_predictions",
                retry=Retry.IDEMPOTENT,
                json={"ids": wanted[start : start + DELETE_BATCH]},
                parse=lambda d: int((d or {}).get("deleted_count", 0)),
                expected="data: {deleted_count}",
            )
        return deleted

    # --- outputs ---------------------------------------------------------------------------------

    def download(self, url: str, destination: str | Path) -> tuple[int, str]:
        """Stream a LoRA output URL to `destination` (no key sent); returns (bytes, sha256 hex)."""
        key = self.secrets[0]
        return stream_download(
            self._http,
            url,
            destination,
            provider=PROVIDER,
            secrets=(key,),
            policy=self._retry,
            clock=self._clock,
            timeout=httpx.Timeout(self._timeout, read=max(self._timeout, UPLOAD_READ_TIMEOUT)),
            on_error=lambda r: error_from_response(
                r, operation="download", now=self._clock.now(), api_key=key
            ),
        )


def _unit_price(data: Any) -> float:
    price = data["unit_price"] if isinstance(data, dict) else None
    if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
        raise ValueError("data.unit_price is not a non-negative number")
    return float(price)


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _url_field(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing {key}")
    return value


__all__ = [
    "API_PATH",
    "HISTORY_MAX_PAGE_SIZE",
    "UPLOAD_ENDPOINTS",
    "WaveSpeedClient",
    "iso_time",
    "model_path",
]
