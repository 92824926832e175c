"""ImgOpen's `{"code": "<string>", "msg": ..., "data"?}` envelope, and errors mapped onto the tree.

Success is `code` "200" — a *string* per the seed (providers.md §0/§3.1); the integer 200 is
accepted too. Anything else is an error described by `msg`. ImgOpen documents no other codes,
so the mapping below reads them as HTTP-like numbers [inf] and falls back on the HTTP status:

    HTTP 429, or code "429"                     → RateLimitedError (retry_after from headers)
    HTTP 5xx/408, or code "500"/"502"/"503"/"504" → ServerError
    2xx envelope the caller's `unknown_task` rule  → NotFoundError (the result query: task unknown)
    msg says the taskId already exists (any code) → DuplicateTaskError (a ConflictError)
    HTTP 401/403, or code "401"/"403"           → AuthError
    code "404" in a 2xx envelope                → NotFoundError (e.g. an unknown taskId)
    HTTP 404 (no envelope code)                 → PermanentError: the *endpoint* is missing, not a
                                                  task — ids travel in bodies, never in paths, so a
                                                  404 status must not be read as "task gone"
    code "409"                                  → ConflictError
    HTTP 400/405/413/415/422, or code "400"     → InvalidRequestError
    anything else                               → PermanentError

Nothing here sends or retries; secrets are scrubbed from every message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from reconciler.providers.errors import (
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermanentError,
    ProviderError,
    RateLimitedError,
    ServerError,
    TemporaryError,
)
from reconciler.providers.http import body_excerpt, json_body, parse_retry_after

PROVIDER = "imgopen"
SUCCESS_CODE = "200"

_DUPLICATE = re.compile(r"already\s+exists?|duplicate|重复|已存在", re.IGNORECASE)
_SERVER_CODES = frozenset({"500", "502", "503", "504"})

TaskMatcher = Callable[[str | None, str | None], bool]

_HINTS: dict[type[ProviderError], str] = {
    AuthError: (
        "check the access key id and secret in the environment variables the Provider names "
        "(access_key_id_env, access_key_secret_env)"
    ),
}


class DuplicateTaskError(ConflictError):
    """ImgOpen refused a submit because its taskId is already taken."""


def envelope_code(body: Any) -> str | None:
    """The envelope's `code` as a string ("200"), or None when there is none."""
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if code is None or isinstance(code, bool) or code == "":
        return None
    return str(code).strip()


def envelope_message(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in ("msg", "message"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def is_success(response: httpx.Response, body: Any) -> bool:
    return response.status_code < 300 and envelope_code(body) == SUCCESS_CODE


def _classify(
    status: int, code: str | None, message: str, unknown_task: TaskMatcher | None
) -> type[ProviderError]:
    if status == 429 or code == "429":
        return RateLimitedError
    if status >= 500 or status == 408 or code in _SERVER_CODES:
        return ServerError
    if status < 300 and unknown_task is not None and unknown_task(code, message):
        return NotFoundError
    if _DUPLICATE.search(message):
        return DuplicateTaskError
    if status in (401, 403) or code in ("401", "403"):
        return AuthError
    if status < 300 and code == "404":
        return NotFoundError
    if status == 409 or code == "409":
        return ConflictError
    if status in (400, 405, 413, 415, 422) or code == "400":
        return InvalidRequestError
    return PermanentError


def error_from_response(
    response: httpx.Response,
    *,
    operation: str,
    now: float,
    secrets: tuple[str, ...] = (),
    unknown_task: TaskMatcher | None = None,
) -> ProviderError:
    """The exception for an error response (HTTP ≥ 300, or an envelope whose code is not "200").

    `unknown_task(code, msg)` says whether a 2xx error envelope means "no such task" (the
    result query's inferred rule); such answers become `NotFoundError`.
    """
    body = json_body(response)
    code = envelope_code(body)
    message = envelope_message(body) or body_excerpt(response, *secrets)
    cls = _classify(response.status_code, code, message, unknown_task)
    if response.status_code == 404 and code in (None, "404") and cls is PermanentError:
        message = f"{message} — the endpoint {response.request.url.path} does not exist on this host"
    hint = _HINTS.get(cls)
    kwargs: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "request_id": response.headers.get("x-request-id"),
        "provider": PROVIDER,
        "operation": operation,
    }
    if issubclass(cls, TemporaryError):
        kwargs["retry_after"] = parse_retry_after(response.headers, now)
    error = cls(_scrub(f"{message} — {hint}" if hint else message, secrets), **kwargs)
    return error


def malformed_response(
    response: httpx.Response, *, operation: str, expected: str, secrets: tuple[str, ...] = ()
) -> ServerError:
    """A 2xx whose body is not the documented JSON (a proxy's HTML page, a truncated body)."""
    return ServerError(
        f"unexpected response body (expected {expected}): {body_excerpt(response, *secrets)}",
        status=response.status_code,
        request_id=response.headers.get("x-request-id"),
        provider=PROVIDER,
        operation=operation,
    )


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


__all__ = [
    "PROVIDER",
    "SUCCESS_CODE",
    "DuplicateTaskError",
    "envelope_code",
    "envelope_message",
    "error_from_response",
    "is_success",
    "json_body",
    "malformed_response",
]
