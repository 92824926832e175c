"""The provider error tree: what went wrong, and whether retrying can help.

Every provider client (DashScope, WaveSpeed, ImgOpen) raises only these. Foreign exceptions
(httpx, JSON decoding) are mapped onto them in one place, `reconciler.providers.http`, and
chained with `from`. The engine decides what to do from the class alone:

    ProviderError                  status, code, message, request_id, provider, operation, retryable
    ├── PermanentError             retrying the same request cannot help
    │   ├── InvalidRequestError    400 InvalidParameter / UnsupportedOperation, 405, 413, 415, 422
    │   ├── AuthError              401 InvalidApiKey, 403 AccessDenied / Arrearage
    │   ├── NotFoundError          404 (and DashScope's 400 "File not found."): on a read, "gone"
    │   ├── ConflictError          409, e.g. a deployment that already exists
    │   └── QuotaError             429 Throttling.AllocationQuota ("Only 20 fine-tune job in
    │                              running or succeeded allowed per user"): an account limit that
    │                              quick retries cannot lift — free a slot (delete old jobs) or
    │                              ask for a raise, then try again
    └── TemporaryError             retry_after: float | None — the same request may succeed later
        ├── RateLimitedError       429 Throttling / Throttling.RateQuota
        ├── ServerError            5xx (and 408); a 2xx whose body is not the documented JSON
        ├── TransportError         no (complete) response: timeouts, resets. maybe_committed says
        │                          whether the request may have reached the server
        └── OutcomeUnknownError    a create without an idempotency key may or may not have taken
                                   effect; never retried blindly — the engine looks the object up

`ConfigurationError` (a ValueError) is outside the tree: raised before any request is made, for a
bad base URL or region.

No exception here may ever hold an API key: messages are built from response bodies that pass
through `redact` and are truncated, and the key itself is never given to an exception.
"""

from __future__ import annotations

import re

MAX_MESSAGE_CHARS = 500

# Bearer tokens and DashScope/OpenAI-style keys ("sk-…"), wherever they appear in a message.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"),
)


MIN_SECRET_CHARS = 8  # shorter "keys" (the sandbox accepts any, e.g. "test") would mangle every message


def redact(text: str, *secrets: str | None) -> str:
    """`text` with the given secrets and anything that looks like a bearer token replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, "***")
    text = _SECRET_PATTERNS[0].sub(r"\1***", text)
    return _SECRET_PATTERNS[1].sub("sk-***", text)


def truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


class ConfigurationError(ValueError):
    """A client was configured wrongly (base URL, region); raised before any request."""


class ProviderError(Exception):
    """A provider request failed. `str()` reads: `<provider> <operation>: <message> (HTTP …, code …, request_id …)`."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        provider: str = "",
        operation: str = "",
    ) -> None:
        self.message = truncate(redact(message))
        self.status = status
        self.code = code
        self.request_id = request_id
        self.provider = provider
        self.operation = operation
        super().__init__(self.message)

    def __str__(self) -> str:
        where = " ".join(p for p in (self.provider, self.operation) if p)
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code {self.code}")
        if self.request_id:
            details.append(f"request_id {self.request_id}")
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({', '.join(details)})" if details else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, code={self.code!r}, "
            f"request_id={self.request_id!r}, provider={self.provider!r}, operation={self.operation!r})"
        )


class PermanentError(ProviderError):
    retryable = False


class InvalidRequestError(PermanentError):
    pass


class AuthError(PermanentError):
    pass


class NotFoundError(PermanentError):
    pass


class ConflictError(PermanentError):
    pass


class QuotaError(PermanentError):
    pass


class TemporaryError(ProviderError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]  # ProviderError's keyword fields, passed through
        self.retry_after = retry_after


class RateLimitedError(TemporaryError):
    pass


class ServerError(TemporaryError):
    pass


class TransportError(TemporaryError):
    def __init__(self, message: str, *, maybe_committed: bool, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]  # ProviderError's keyword fields, passed through
        self.maybe_committed = maybe_committed


class OutcomeUnknownError(TemporaryError):
    """A non-idempotent create may have taken effect. `cause` is what made the outcome unknown.

    Retrying the request could create a duplicate; resolve it by looking the object up
    (DESIGN.md §3), then retry only if it is not there.
    """

    def __init__(self, message: str, *, cause: ProviderError, **kwargs: object) -> None:
        kwargs.setdefault("status", cause.status)
        kwargs.setdefault("code", cause.code)
        kwargs.setdefault("request_id", cause.request_id)
        kwargs.setdefault("provider", cause.provider)
        kwargs.setdefault("operation", cause.operation)
        kwargs.setdefault("retry_after", getattr(cause, "retry_after", None))
        super().__init__(message, **kwargs)  # type: ignore[arg-type]  # ProviderError's keyword fields, passed through
        self.cause = cause


__all__ = [
    "MAX_MESSAGE_CHARS",
    "AuthError",
    "ConfigurationError",
    "ConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermanentError",
    "ProviderError",
    "QuotaError",
    "RateLimitedError",
    "ServerError",
    "TemporaryError",
    "TransportError",
    "redact",
    "truncate",
]
