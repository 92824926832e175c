"""The sandbox's tiny HTTP vocabulary: requests, responses, routes and the error a handler raises.

It exists so provider emulators (DashScope today; WaveSpeed and ImgOpen beside it) are written
against plain data and never against WSGI or httpx; the WSGI app and the in-process transport
both translate into these types. It must not know any provider's paths or envelopes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from reconciler.models.faults import FaultConfig
    from reconciler.sandbox.store import Store

MAX_JSON_BODY = 8 * 1024 * 1024
"""JSON bodies above this are refused: no real request to these APIs comes close."""


class ApiError(Exception):
    """Raised by a handler; the emulator renders it in its provider's error envelope."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class Readable(Protocol):
    """What a request body is to a handler: `read(n)` bytes until b"" (a file, a socket, chunks)."""

    def read(self, n: int = -1, /) -> bytes: ...


class BodyReader:
    """A file-like `read(n)` over an iterator of byte chunks, so bodies stream instead of buffering."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            rest = self._buf + b"".join(self._it)
            self._buf = b""
            return rest
        while len(self._buf) < n:
            try:
                chunk = next(self._it)
            except StopIteration:
                break
            if chunk:
                self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Readable
    content_length: int | None = None
    _json: Any = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: Readable,
        content_length: int | None,
    ) -> Request:
        return cls(
            method=method.upper(),
            path=path or "/",
            query=parse_qs(query_string, keep_blank_values=True) if query_string else {},
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            content_length=content_length,
        )

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def read_body(self, limit: int = MAX_JSON_BODY) -> bytes:
        if self.content_length is not None and self.content_length > limit:
            raise ApiError(413, "RequestTooLarge", f"Request body exceeds {limit} bytes")
        data = self.body.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "RequestTooLarge", f"Request body exceeds {limit} bytes")
        return data

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is `{}`."""
        if self._json is None:
            raw = self.read_body()
            if not raw.strip():
                self._json = {}
            else:
                try:
                    self._json = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ApiError(400, "InvalidParameter", f"Request body is not valid JSON: {exc}") from exc
            if not isinstance(self._json, dict):
                raise ApiError(400, "InvalidParameter", "Request body must be a JSON object")
        return self._json


def dumps(payload: Any) -> str:
    """`json.dumps(payload, ensure_ascii=False)`, a third faster for text that is all ASCII.

    The ASCII encoder is the faster one, and it writes the same text as the other unless some
    character is escaped as \\uXXXX (any non-ASCII one, DEL, a control character): then its text
    has a "\\u" in it — so does an escaped backslash before a "u", which only costs the second
    encoding — and the payload is encoded again as asked.
    """
    text = json.dumps(payload)
    return json.dumps(payload, ensure_ascii=False) if "\\u" in text else text


@dataclass
class Response:
    status: int
    body: bytes | Iterable[bytes] = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    length: int | None = None  # for streamed bodies, when known

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        data = dumps(payload).encode("utf-8")
        hdrs = [("Content-Type", "application/json; charset=utf-8"), *(headers or {}).items()]
        return cls(status=status, body=data, headers=hdrs, length=len(data))


@dataclass
class Context:
    """Everything a handler may use. `now` is fixed for the whole request."""

    request: Request
    params: dict[str, str]
    store: Store
    now: float
    time_scale: float
    seed: int
    faults: FaultConfig
    request_id: str
    fidelity: str = "permissive"  # "documented": least helpful documented shapes (models.faults.Fidelity)

    @property
    def documented(self) -> bool:
        """Whether to answer with the least helpful shape the documents allow (providers.md §4b)."""
        return self.fidelity == "documented"


Handler = Callable[[Context], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # e.g. "/api/v1/fine-tunes/{job_id}"
    handler: Handler
    transactional: bool = True  # False: the handler streams a body and opens its own transactions

    @property
    def key(self) -> str:
        """The request-count and fault-matching key: 'METHOD /template'."""
        return f"{self.method} {self.template}"

    def compile(self) -> re.Pattern[str]:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{pattern}/?$")


class ProviderEmulator(Protocol):
    """One provider's emulation. The app asks each in turn; they never see each other."""

    name: str
    path_prefixes: tuple[str, ...]

    def schema(self) -> str:
        """SQL (CREATE TABLE IF NOT EXISTS ...) for this emulator's tables."""
        ...

    def routes(self) -> list[Route]: ...

    def authenticate(self, request: Request) -> ApiError | None:
        """None if the request carries acceptable credentials, else the error to answer with."""
        ...

    def error_response(self, error: ApiError, request: Request, request_id: str) -> Response: ...

    def list_objects(self, kind: str, ctx: Context) -> list[dict[str, Any]] | None:
        """Introspection for tests and benchmarks; None if this emulator has no such kind."""
        ...


class Router:
    """Routes tried in order; the first whose method and pattern match the request serves it.

    A route's pattern is compiled when a request first gets as far as it: a path that does not
    start with the template's literal head (up to its first `{`) cannot match the pattern (which
    is that head, escaped, anchored at the start), so it is passed over without one. The sandbox
    of a plan answers a handful of routes; compiling all 48 patterns at start-up was ~4 ms."""

    def __init__(self, emulators: Iterable[ProviderEmulator]) -> None:
        self.emulators = list(emulators)
        self._table: list[tuple[str, Route, ProviderEmulator]] = [
            (route.template.partition("{")[0], route, emu) for emu in self.emulators for route in emu.routes()
        ]
        self._patterns: dict[int, re.Pattern[str]] = {}  # index in `_table` -> its compiled pattern

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str], ProviderEmulator] | None:
        patterns = self._patterns
        for i, (head, route, emu) in enumerate(self._table):
            if route.method != method or not path.startswith(head):
                continue
            pattern = patterns.get(i)
            if pattern is None:
                pattern = patterns[i] = route.compile()
            m = pattern.match(path)
            if m:
                return route, m.groupdict(), emu
        return None

    def owner(self, path: str) -> ProviderEmulator | None:
        for emu in self.emulators:
            if any(path.startswith(prefix) for prefix in emu.path_prefixes):
                return emu
        return None
