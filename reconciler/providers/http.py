"""HTTP plumbing shared by every provider client: retries, exception mapping, base-URL policy.

Why one module: the rules that keep a reconciler safe — when a request may be re-sent, what a
timeout means for a create, which hosts may be spoken to in clear text — must be the same for
every provider, so they live here once. It must not know any provider's paths or envelopes: a
client turns an error *response* into a `ProviderError` itself, and hands this module a callable
for one attempt.

- `map_transport_errors` is the only place httpx exceptions become `TransportError`s (like httpx's
  own `map_httpcore_exceptions`), deciding `maybe_committed` from where the failure happened.
- `call_with_retries` runs one attempt at a time under a `RetryPolicy`, sleeping on the injected
  clock. `Retry.IDEMPOTENT` requests are retried on any `TemporaryError`; `Retry.CREATE` requests
  (no idempotency key) only when the server surely did not act, otherwise `OutcomeUnknownError`.
- `check_base_url` allows `http://` for loopback hosts only.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import ipaddress
import logging
import os
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from reconciler.clock import Clock
from reconciler.providers.errors import (
    AuthError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermanentError,
    ProviderError,
    RateLimitedError,
    ServerError,
    TemporaryError,
    TransportError,
    redact,
    truncate,
)

log = logging.getLogger("reconciler.providers.http")

T = TypeVar("T")

# Failures that happen before a single byte of the request can have been processed.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)

# 503 and 429 are answers: the server refused the request, so nothing was created and a create
# may be re-sent. Any other 5xx may come after the backend acted (a gateway timing out on it).
_CREATE_SAFE_STATUSES = frozenset({429, 503})


class Retry(enum.Enum):
    IDEMPOTENT = "idempotent"  # reads, lists, DELETE, cancel, scale, export: re-sending is harmless
    CREATE = "create"  # a create without an idempotency key: re-send only if surely not received


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring the server's Retry-After up to a cap.

    The n-th retry waits `min(max_backoff, initial_backoff * 2**(n-1))` plus up to `jitter` of
    that again, unless the server said how long to wait (`Retry-After` in seconds or as an
    HTTP date, or `retry-after-ms`), in which case it waits that, capped at `max_retry_after`.
    Inject a seeded `rng` for deterministic jitter.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `retry_number` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        base = min(self.max_backoff, self.initial_backoff * 2 ** (retry_number - 1))
        return float(base + self.rng.uniform(0.0, base * self.jitter))


NO_RETRIES = RetryPolicy(max_attempts=1)


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, else `Retry-After` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            return max(float(millis) / 1000.0, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    with contextlib.suppress(ValueError):
        return max(float(value), 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - now, 0.0)


def body_excerpt(response: httpx.Response, *secrets: str | None) -> str:
    """The response body as text, redacted and truncated, for error messages."""
    try:
        text = response.text
    except (httpx.ResponseNotRead, UnicodeDecodeError):  # pragma: no cover - defensive
        return f"<{len(response.content)} bytes>"
    return truncate(redact(text.strip(), *secrets)) or response.reason_phrase or "(empty body)"


@contextlib.contextmanager
def map_transport_errors(*, provider: str, operation: str, secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """Turn httpx's transport exceptions into `TransportError`, chained with `from`.

    `secrets` are scrubbed from the messages (an exception text may quote a header or URL).
    """
    try:
        yield
    except _NOT_SENT as exc:
        raise TransportError(
            f"could not connect ({type(exc).__name__}: {redact(str(exc), *secrets)}); the request was not sent",
            maybe_committed=False,
            provider=provider,
            operation=operation,
        ) from exc
    except httpx.TimeoutException as exc:  # read/write timeout: the server may have the request
        raise TransportError(
            f"timed out waiting for the server ({type(exc).__name__}); it may have received the request",
            maybe_committed=True,
            provider=provider,
            operation=operation,
        ) from exc
    except (httpx.TransportError, httpx.DecodingError, httpx.TooManyRedirects) as exc:
        raise TransportError(
            f"connection failed after sending ({type(exc).__name__}: {redact(str(exc), *secrets)}); "
            "the server may have received the request",
            maybe_committed=True,
            provider=provider,
            operation=operation,
        ) from exc


def _create_may_retry(exc: ProviderError) -> bool:
    if isinstance(exc, TransportError):
        return not exc.maybe_committed
    return isinstance(exc, RateLimitedError | ServerError) and exc.status in _CREATE_SAFE_STATUSES


def call_with_retries(
    attempt: Callable[[], T],
    *,
    policy: RetryPolicy,
    clock: Clock,
    retry: Retry,
    replayable: bool = True,
) -> T:
    """Run `attempt` until it returns, retrying what `retry` allows under `policy`.

    `attempt` performs one request and raises a `ProviderError` for a failed one. For
    `Retry.CREATE`, a temporary failure after which the server may have acted (a read timeout,
    a reset after sending, a 500/502/504) raises `OutcomeUnknownError` at once. `replayable=False`
    (a one-shot upload stream) allows a single attempt.
    """
    max_attempts = policy.max_attempts if replayable else 1
    number = 1
    while True:
        try:
            return attempt()
        except TemporaryError as exc:
            if retry is Retry.CREATE and not _create_may_retry(exc):
                raise OutcomeUnknownError(
                    "the create may or may not have taken effect "
                    f"({exc.message}); look the object up before creating it again",
                    cause=exc,
                ) from exc
            if number >= max_attempts:
                raise
            wait = policy.delay(number, exc.retry_after)
            log.info(
                "%s %s: %s%s; retry %d/%d in %.2fs%s",
                exc.provider,
                exc.operation,
                type(exc).__name__,
                f" (HTTP {exc.status})" if getattr(exc, "status", None) else "",
                number,
                max_attempts - 1,
                wait,
                f" (Retry-After {exc.retry_after:g}s)" if exc.retry_after is not None else "",
                extra={
                    "event": "retry",
                    "provider": exc.provider,
                    "operation": exc.operation,
                    "error_class": type(exc).__name__,
                    "status": getattr(exc, "status", None),
                    "attempt": number,
                    "max_retries": max_attempts - 1,
                    "retry_after": exc.retry_after,
                    "wait_s": round(wait, 3),
                },
            )
            clock.sleep(wait)
            number += 1


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> httpx.URL:
    """Parse a provider base URL, refusing clear-text HTTP to anything but this machine."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"invalid base URL {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            f"invalid base URL {url!r}: expected https://HOST (or http://127.0.0.1:PORT for a local sandbox)"
        )
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        raise ConfigurationError(
            f"refusing clear-text http:// to {parsed.host!r}: API keys would travel unencrypted. "
            "Use https://, or http:// only for a loopback host (127.0.0.1, ::1, localhost)."
        )
    if parsed.query or parsed.fragment:
        raise ConfigurationError(f"invalid base URL {url!r}: a base URL takes no query string or fragment")
    return parsed


__all__ = [
    "NO_RETRIES",
    "Retry",
    "RetryPolicy",
    "body_excerpt",
    "call_with_retries",
    "check_base_url",
    "map_transport_errors",
    "parse_retry_after",
]


def check_direct_url(url: str, what: str) -> httpx.URL:
    """A URL we talk to without credentials (upload tickets, output files): https, or http to this machine."""
    try:
        parsed = httpx.URL(url)
        origin = f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"
    except (httpx.InvalidURL, TypeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{what} is not a valid URL: {url!r}") from exc
    try:
        check_base_url(origin)  # the same rule as for base URLs: clear text only to this machine
    except ConfigurationError as exc:
        raise ConfigurationError(f"refusing {what} {url!r}: {exc}") from exc
    return parsed


def stream_download(
    http: httpx.Client,
    url: str,
    destination: str | os.PathLike[str],
    *,
    provider: str,
    secrets: tuple[str, ...],
    on_error: Callable[[httpx.Response], Exception],
    policy: RetryPolicy,
    clock: Clock,
    timeout: httpx.Timeout,
    chunk: int = 1 << 16,
) -> tuple[int, str]:
    """Stream an output file (e.g. a LoRA) to disk without credentials; returns (bytes, sha256 hex).

    Written to `<destination>.part` first and renamed, so a failed download never leaves a partial
    file under the final name. Retried like any read.
    """
    target = check_direct_url(url, "output URL")
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")

    def attempt() -> tuple[int, str]:
        digest, size = hashlib.sha256(), 0
        with (
            map_transport_errors(provider=provider, operation="download", secrets=secrets),
            http.stream("GET", str(target), auth=None, timeout=timeout) as response,
        ):
            if response.status_code != 200:
                response.read()
                raise on_error(response)
            with open(partial, "wb") as out:
                for block in response.iter_bytes(chunk):
                    out.write(block)
                    digest.update(block)
                    size += len(block)
        os.replace(partial, dest)
        return size, digest.hexdigest()

    try:
        return call_with_retries(attempt, policy=policy, clock=clock, retry=Retry.IDEMPOTENT)
    finally:
        partial.unlink(missing_ok=True)


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when the body is not JSON (an HTML error page, nothing at all)."""
    try:
        return response.json()
    except ValueError:
        return None


def error_class_for_status(status: int) -> type[ProviderError]:
    """The error class an HTTP status means on its own; providers refine it with their business codes."""
    if status == 429:
        return RateLimitedError
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 408 or status >= 500:
        return ServerError
    if status in (400, 405, 413, 415, 422):
        return InvalidRequestError
    return PermanentError
