"""DashScope response envelopes, and error responses mapped onto the provider error tree.

Two error shapes exist (providers.md §1.2): the native `{"request_id", "code", "message"|"msg"}`
and the OpenAI-compatible `{"error": {"code"|"type", "message"}}`. Either may come with an HTTP
error status or — DashScope's quirk — with HTTP 200; a *top-level* `code` on a 200 is an error,
while a `code` inside a list item is not. This module decides the exception class; it never
retries or sends anything.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from reconciler.providers.errors import (
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermanentError,
    ProviderError,
    QuotaError,
    RateLimitedError,
    ServerError,
    TemporaryError,
    redact,
)
from reconciler.providers.http import body_excerpt, error_class_for_status, json_body, parse_retry_after

PROVIDER = "dashscope"

_FILE_NOT_FOUND = re.compile(r"not\s+found|not\s+exist|no\s+such\s+file", re.IGNORECASE)
_ALLOCATION_QUOTA = re.compile(r"only\s+\d+\s+fine-?tune\s+jobs?\b.*\ballowed", re.IGNORECASE)

_HINTS: dict[type[ProviderError], str] = {
    AuthError: (
        "check the API key in the environment variable the Provider names, that it belongs to this "
        "region's host, and that the account is activated and not in arrears"
    ),
    QuotaError: (
        "the account allows only 20 fine-tune jobs in running or succeeded state; delete finished jobs "
        "you no longer need (or ask Alibaba Cloud for a higher quota), then apply again"
    ),
}

# Business codes seen with HTTP 200 (or without a telling status), by class.
_CODE_CLASSES: dict[str, type[ProviderError]] = {
    "InvalidParameter": InvalidRequestError,
    "UnsupportedOperation": InvalidRequestError,
    "BadRequest": InvalidRequestError,
    "InvalidApiKey": AuthError,
    "AccessDenied": AuthError,
    "AccessDenied.Unpurchased": AuthError,
    "Arrearage": AuthError,
    "NotFound": NotFoundError,
    "Model.NotExist": NotFoundError,
    "Conflict": ConflictError,
    "Throttling.AllocationQuota": QuotaError,
    "Throttling": RateLimitedError,
    "Throttling.RateQuota": RateLimitedError,
    "InternalError": ServerError,
    "ServiceUnavailable": ServerError,
    "GatewayTimeout": ServerError,
}


def request_id_of(response: httpx.Response, body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(rid := body.get("request_id"), str):
        return rid
    header: str | None = response.headers.get("x-request-id")
    return header


def _code_and_message(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return (str(code) if code else None), error.get("message")
    code = body.get("code")
    message = body.get("message") or body.get("msg")
    return (str(code) if code not in (None, "") else None), (str(message) if message else None)


def business_error(body: Any) -> bool:
    """True for a 2xx body that is really an error: a top-level `code` or an `error` object."""
    if not isinstance(body, dict):
        return False
    return body.get("code") not in (None, "") or isinstance(body.get("error"), dict)


def _classify(
    status: int, code: str | None, message: str, *, missing_file_is_404: bool
) -> type[ProviderError]:
    if status == 429 or (code or "").startswith("Throttling"):
        if code == "Throttling.AllocationQuota" or _ALLOCATION_QUOTA.search(message):
            return QuotaError
        return RateLimitedError
    if status == 400 and missing_file_is_404 and _FILE_NOT_FOUND.search(message):
        return NotFoundError
    if status >= 400:
        return error_class_for_status(status)
    # A 2xx/3xx carrying an error envelope: the business code decides.
    if code is not None and code in _CODE_CLASSES:
        cls = _CODE_CLASSES[code]
        if cls is InvalidRequestError and missing_file_is_404 and _FILE_NOT_FOUND.search(message):
            return NotFoundError
        return cls
    return PermanentError


def error_from_response(
    response: httpx.Response,
    *,
    operation: str,
    now: float,
    api_key: str | None = None,
    missing_file_is_404: bool = False,
) -> ProviderError:
    """The exception for an error response (HTTP ≥ 400, or a 2xx with an error envelope).

    `missing_file_is_404`: DashScope answers a missing file id with 400 InvalidParameter
    "File not found."; file reads set this so the caller sees `NotFoundError` ("gone").
    """
    body = json_body(response)
    code, message = _code_and_message(body)
    if not message:
        message = body_excerpt(response, api_key)
    cls = _classify(response.status_code, code, message, missing_file_is_404=missing_file_is_404)
    hint = _HINTS.get(cls)
    text = f"{message} — {hint}" if hint else message
    kwargs: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "request_id": request_id_of(response, body),
        "provider": PROVIDER,
        "operation": operation,
    }
    if issubclass(cls, TemporaryError):
        kwargs["retry_after"] = parse_retry_after(response.headers, now)
    return cls(redact(text, api_key), **kwargs)


def malformed_response(
    response: httpx.Response, *, operation: str, expected: str, api_key: str | None
) -> ServerError:
    """A 2xx whose body is not the documented JSON (a proxy's HTML page, a truncated body)."""
    body = json_body(response)
    return ServerError(
        f"unexpected response body (expected {expected}): {body_excerpt(response, api_key)}",
        status=response.status_code,
        request_id=request_id_of(response, body),
        provider=PROVIDER,
        operation=operation,
    )


__all__ = [
    "PROVIDER",
    "business_error",
    "error_from_response",
    "json_body",
    "malformed_response",
    "request_id_of",
]
