"""WaveSpeed's `{code, message, data}` envelope, and error responses mapped onto the error tree.

A response is an error when the HTTP status is not 2xx *or* the body's `code` is not 200
(providers.md §2.1: clients check both). The message comes from `message`, else `error`, else
`detail` (the desktop client reads all three). The status that decides the exception class is
the HTTP status when it is an error, else the body's `code`. Nothing here sends or retries.
"""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.providers.errors import (
    AuthError,
    ProviderError,
    RateLimitedError,
    ServerError,
    TemporaryError,
)
from reconciler.providers.http import body_excerpt, error_class_for_status, json_body, parse_retry_after

PROVIDER = "wavespeed"

_HINTS: dict[type[ProviderError], str] = {
    AuthError: (
        "check the API key in the environment variable the Provider names; WaveSpeed keys only work "
        "after the account's first top-up"
    ),
    RateLimitedError: (
        "WaveSpeed limits requests per minute and concurrent tasks per account tier (Bronze: 3 at a time); "
        "wait for running trainings to finish, or raise the tier"
    ),
}


def _int_code(body: Any) -> int | None:
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return None


def is_error(response: httpx.Response, body: Any) -> bool:
    """Not 2xx, or an envelope whose `code` is present and not 200."""
    if not 200 <= response.status_code < 300:
        return True
    if isinstance(body, dict) and "code" in body:
        return _int_code(body) != 200
    return False


def message_of(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in ("message", "error", "detail"):
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("detail")
        if isinstance(value, list) and value:  # FastAPI-style detail lists
            value = "; ".join(str(v.get("msg", v)) if isinstance(v, dict) else str(v) for v in value)
        if value and str(value).strip().lower() not in ("success", "ok"):
            return str(value)
    return None


_classify = error_class_for_status


def error_from_response(
    response: httpx.Response, *, operation: str, now: float, api_key: str | None
) -> ProviderError:
    body = json_body(response)
    code = _int_code(body)
    status = response.status_code
    deciding = status if not 200 <= status < 300 else (code if code is not None else 500)
    message = message_of(body) or body_excerpt(response, api_key)
    cls = _classify(deciding)
    hint = _HINTS.get(cls)
    kwargs: dict[str, Any] = {
        "status": status,
        "code": str(code) if code is not None and code != status else None,
        "request_id": response.headers.get("x-request-id"),
        "provider": PROVIDER,
        "operation": operation,
    }
    if issubclass(cls, TemporaryError):
        kwargs["retry_after"] = parse_retry_after(response.headers, now)
    error = cls(f"{message} — {hint}" if hint else message, **kwargs)
    if api_key:
        error.message = error.message.replace(api_key, "***")
        error.args = (error.message,)
    return error


def malformed_response(
    response: httpx.Response, *, operation: str, expected: str, api_key: str | None
) -> ServerError:
    """A 2xx whose body is not the documented envelope (a proxy's HTML page, a truncated body)."""
    return ServerError(
        f"unexpected response body (expected {expected}): {body_excerpt(response, api_key)}",
        status=response.status_code,
        request_id=response.headers.get("x-request-id"),
        provider=PROVIDER,
        operation=operation,
    )


__all__ = ["PROVIDER", "error_from_response", "is_error", "json_body", "malformed_response", "message_of"]
