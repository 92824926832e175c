"""The part every provider's HTTP client shares: connection, credentials, transport errors, retries.

Why: the three clients had copied one constructor (base-URL policy, the API root a user may paste
into an endpoint, one `httpx.Client` per provider with redirects off), one auth class (a key that
lives in one private place and reprs as ***), and one way of sending (httpx errors mapped at one
edge, secrets scrubbed from what they say, retries on the injected clock). A provider's client
subclasses `ProviderClient` and adds only what is its own: its paths, its envelopes, its error
codes (DESIGN.md §5, `reconciler.providers.http` for the retry rules themselves).

It must not know any provider's paths or response shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping
from typing import Any, ClassVar, Self, TypeVar

import httpx

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.providers.fast_urls import UrlJoiner
from reconciler.providers.http import (
    Retry,
    RetryPolicy,
    call_with_retries,
    check_base_url,
    map_transport_errors,
)

T = TypeVar("T")


class HeaderAuth(httpx.Auth):
    """Adds the credential headers per request: the only holder of the secrets, repr'd as ***."""

    def __init__(self, headers: Mapping[str, str], *, secrets: tuple[str, ...], shown: str) -> None:
        # encoded once: `Headers.update` copies a `Headers` as it is, a dict it encodes every time
        self._headers = httpx.Headers(headers)
        self._secrets = secrets
        self._shown = shown  # e.g. "api_key=***"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values to scrub from every message (error texts, logs)."""
        return self._secrets

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._headers)
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._shown})"


class _SetCookieCookies(httpx.Cookies):
    """The client's cookie jar, asked to read a response only when the response sets a cookie.

    httpx wraps every response and its request in urllib's cookie-jar adapters to look for
    `Set-Cookie` (a third of a request's client-side cost); the jar reads nothing else, so a
    response without those headers leaves it exactly as it was.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _Client(httpx.Client):
    """httpx's client, not copying its default headers twice for a request that adds none.

    `build_request` merges the client's headers with the request's into a new `Headers`, and the
    `Request` it makes copies that again; with nothing to add, the client's own are what the
    request copies (it never changes the object it was given).
    """

    def _merge_headers(self, headers: Any = None) -> Any:
        if not headers:
            return self.headers
        return super()._merge_headers(headers)


def bearer_auth(api_key: str) -> HeaderAuth:
    return HeaderAuth({"Authorization": f"Bearer {api_key}"}, secrets=(api_key,), shown="api_key=***")


class ProviderClient:
    """One provider's connection. Subclasses set `PROVIDER`, `API_ROOTS` and `USER_AGENT`."""

    PROVIDER: ClassVar[str]  # the name errors carry, e.g. "dashscope"
    API_ROOTS: ClassVar[tuple[str, ...]] = ()  # path roots a pasted endpoint may end with (stripped)
    USER_AGENT: ClassVar[str]
    log: ClassVar[logging.Logger]

    def __init__(
        self,
        base_url: str,
        auth: HeaderAuth,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        url = check_base_url(base_url)
        root = url.raw_path.decode("ascii").split("?")[0].rstrip("/")
        for suffix in self.API_ROOTS:
            if root.endswith(suffix):
                root = root[: -len(suffix)]
        self.base_url = str(url.copy_with(raw_path=(root or "/").encode("ascii"))).rstrip("/")
        self._auth = auth
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._timeout = float(timeout)
        self._urls = UrlJoiner(self.base_url)
        self._http = _Client(
            base_url=self.base_url,
            auth=self._auth,
            headers={"Accept": "application/json", "User-Agent": self.USER_AGENT, **(headers or {})},
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )
        # httpx 0.2x keeps the jar in `_cookies` (the public setter would copy it into a plain
        # Cookies); a newer httpx without that attribute just keeps its own jar
        if type(getattr(self._http, "_cookies", None)) is httpx.Cookies:
            self._http._cookies = _SetCookieCookies(self._http.cookies)

    @staticmethod
    def require(value: str, what: str) -> str:
        """A credential read from the environment must not be empty (the message names no value)."""
        if not value or not value.strip():
            raise ValueError(f"{what} is empty; set the environment variable the Provider names")
        return value

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._auth.secrets

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, method: str, url: str, *, operation: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange; httpx's errors become `TransportError`s with the secrets scrubbed."""
        # A path is joined to the base URL here, as httpx would join it (`base_url` has no trailing
        # slash, every path starts with one): a plain path into the base URL parsed once
        # (fast_urls.py), anything else as one absolute URL for httpx to parse.
        target = self._urls.join(url) if url.startswith("/") else url
        with map_transport_errors(provider=self.PROVIDER, operation=operation, secrets=self.secrets):
            response = self._http.request(method, target, **kwargs)
        # httpx leaves a read response and its stream referring to each other: a cycle that keeps
        # every response (and its body) alive until the cyclic collector runs, and a plan pauses it
        # (cli/collector.py). The body is read and the stream closed; what remains is the content.
        if isinstance(response.stream, httpx.SyncByteStream) and hasattr(response, "_content"):
            response.stream = httpx.ByteStream(response.content)
        self.log.debug("%s %s -> %d", method, url, response.status_code)
        return response

    def _with_retries(self, attempt: Callable[[], T], *, retry: Retry, replayable: bool = True) -> T:
        return call_with_retries(
            attempt, policy=self._retry, clock=self._clock, retry=retry, replayable=replayable
        )
