"""One log line per provider request, for every client alike (`--log-level debug`, `--log-file`).

Why a transport: every client (DashScope, WaveSpeed, ImgOpen, the sandbox) sends through the
httpx transport the wiring hands it, so wrapping that one object records every request — method,
path, status, the provider's request id, duration — without any client knowing. What is never
logged: headers (they carry the API key), query strings and bodies (a presigned upload URL or a
prompt may be in them). Only the path and the request id leave this module.

Lines go to the `reconciler.http` logger at DEBUG; a request that fails in transport is logged at
INFO with the error class. Nothing is formatted unless the logger is enabled.
"""

from __future__ import annotations

import json
import logging
import time

import httpx

log = logging.getLogger("reconciler.http")

_REQUEST_ID_HEADERS = ("x-request-id", "x-dashscope-request-id", "x-acs-request-id", "request-id")
_JSON_LIMIT = 1 << 20  # a request id is looked for in JSON bodies up to 1 MiB (never in downloads)


class LoggingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, provider: str) -> None:
        self.inner = inner
        self.provider = provider

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not log.isEnabledFor(logging.DEBUG):
            return self.inner.handle_request(request)
        start = time.monotonic()
        try:
            response = self.inner.handle_request(request)
        except Exception as exc:
            log.info(
                "%s %s %s: %s after %.0f ms",
                self.provider,
                request.method,
                request.url.path,
                type(exc).__name__,
                (time.monotonic() - start) * 1000,
                extra={"event": "request", "provider": self.provider, "error_class": type(exc).__name__},
            )
            raise
        request_id = _request_id(response)
        millis = (time.monotonic() - start) * 1000
        log.debug(
            "%s %s %s -> %d (request id %s, %.0f ms)",
            self.provider,
            request.method,
            request.url.path,
            response.status_code,
            request_id or "-",
            millis,
            extra={
                "event": "request",
                "provider": self.provider,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "request_id": request_id,
                "duration_ms": round(millis, 1),
            },
        )
        return response

    def close(self) -> None:
        self.inner.close()


def _request_id(response: httpx.Response) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    kind = response.headers.get("content-type", "")
    size = response.headers.get("content-length")
    if "json" not in kind or (size is not None and size.isdigit() and int(size) > _JSON_LIMIT):
        return None
    try:
        body = json.loads(response.read())
    except (ValueError, httpx.HTTPError):
        return None
    if isinstance(body, dict):
        for key in ("request_id", "requestId", "RequestId"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def logged(transport: httpx.BaseTransport | None, provider: str) -> httpx.BaseTransport:
    """`transport` (or httpx's default) with every request logged."""
    return LoggingTransport(transport if transport is not None else httpx.HTTPTransport(), provider)


__all__ = ["LoggingTransport", "logged"]
