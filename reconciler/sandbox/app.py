"""The sandbox application: route a request to an emulator, count it, inject faults, run it.

`SandboxApp.handle` is the one entry point shared by the WSGI callable (used by `serve`) and the
in-process httpx transport. It returns an `Outcome`: a response, or an instruction to drop the
connection (reset, never answer, or — after committing the change — lose the response); each
front end realises that instruction its own way. No provider specifics live here.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from reconciler.clock import Clock
from reconciler.models.faults import FaultConfig
from reconciler.sandbox import faults as fault_rules
from reconciler.sandbox.faults import FaultDecision
from reconciler.sandbox.late_commits import LateCommits
from reconciler.sandbox.routing import ApiError, Context, ProviderEmulator, Request, Response, Route, Router
from reconciler.sandbox.store import Store

log = logging.getLogger(__name__)

Drop = Literal["reset", "timeout", "lost"]
DROP_ENVIRON_KEY = "reconciler.sandbox.drop"


@dataclass
class Outcome:
    response: Response
    drop: Drop | None = None
    fault: FaultDecision = fault_rules.NO_FAULT


class SandboxApp:
    def __init__(
        self,
        store: Store,
        emulators: Iterable[ProviderEmulator],
        clock: Clock,
        time_scale: float,
        seed: int,
        faults: FaultConfig,
        fidelity: str = "permissive",
    ) -> None:
        self.store = store
        self.fidelity = fidelity
        self.router = Router(emulators)
        self.clock = clock
        self.time_scale = time_scale
        self.seed = seed
        self.faults = faults
        for emu in self.router.emulators:
            store.executescript(emu.schema())
        self.late_commits = LateCommits(store)

    def release_caches(self) -> None:
        """Drop what the emulators cache between requests (each rebuilds it on its next use): a
        caller with a long stretch of work ahead and no request to make (a plan after its
        refresh) thus keeps its own objects and the emulator's apart in the process's peak. An
        emulator with caches says so with a `release_caches(store)` method (optional: the
        `ProviderEmulator` protocol does not require one). Responses are the same either way."""
        for emu in self.router.emulators:
            release = getattr(emu, "release_caches", None)
            if release is not None:
                release(self.store)

    # --- the shared entry point ---------------------------------------------------------
    def handle(
        self, request: Request, faults: FaultConfig | None = None, fidelity: str | None = None
    ) -> Outcome:
        faults = self.faults if faults is None else faults
        fidelity = fidelity or self.fidelity
        matched = self.router.match(request.method, request.path)
        emulator = matched[2] if matched else self.router.owner(request.path)
        key = matched[0].key if matched else f"{request.method} (no such route)"
        # One lock and one commit for the late commits that are due, the request id, the request
        # count and — for a transactional route with no fault to act out first — the handler itself
        # (in a savepoint, so a handler that fails leaves only the bookkeeping behind, as when it
        # ran in a transaction of its own). Each BEGIN IMMEDIATE … COMMIT of the sandbox database
        # is a WAL write and a hand-off of the GIL between the engine's threads.
        response: Response | None = None
        with self.store.transaction():
            if self.late_commits.any_due(self.clock.now()):
                self.commit_due()
            request_id = self._request_id()
            n = self.store.count_request(key)
            decision = fault_rules.decide(
                faults, fault_rules.effective_seed(faults, self.seed), request.method, request.path, key, n
            )
            if (
                decision.kind in ("none", "lost")
                and decision.latency_s <= 0
                and (matched is None or matched[0].transactional)
            ):
                response = self._run(request, request_id, matched, emulator, faults, fidelity, savepoint=True)

        if response is None:
            if decision.latency_s > 0:
                self.clock.sleep(decision.latency_s)
            if decision.kind in ("reset", "timeout"):
                return Outcome(
                    self._plain(502, "connection dropped (injected fault)"),
                    drop=decision.kind,
                    fault=decision,
                )
            if decision.kind in ("throttle", "server_error"):
                return Outcome(self._injected_error(decision, request, request_id, emulator), fault=decision)
            if decision.kind == "late_commit":
                # the client times out; the provider commits the request later (late_commits.py)
                self.late_commits.park(
                    request,
                    due=self.clock.now() + decision.commit_delay_s,
                    fidelity=fidelity,
                    request_id=request_id,
                )
                return Outcome(self._plain(502, "no answer (injected fault)"), drop="timeout", fault=decision)
            response = self._run(request, request_id, matched, emulator, faults, fidelity)
        response.headers.append(("x-request-id", request_id))
        if decision.kind == "lost":
            return Outcome(response, drop="lost", fault=decision)
        return Outcome(response, fault=decision)

    def _run(
        self,
        request: Request,
        request_id: str,
        matched: tuple[Route, dict[str, str], ProviderEmulator] | None,
        emulator: ProviderEmulator | None,
        faults: FaultConfig,
        fidelity: str,
        at: float | None = None,
        *,
        savepoint: bool = False,
    ) -> Response:
        if emulator is None:
            return self._plain(404, f"No emulated API serves {request.path}")
        try:
            if matched is None:
                raise ApiError(404, "NotFound", f"No such API: {request.method} {request.path}")
            route, params, _ = matched
            auth_error = emulator.authenticate(request)
            if auth_error is not None:
                raise auth_error
            ctx = Context(
                request=request,
                params=params,
                store=self.store,
                now=self.clock.now(),
                time_scale=self.time_scale,
                seed=self.seed,
                faults=faults,
                request_id=request_id,
                fidelity=fidelity,
            )
            if at is not None:
                ctx.now = at
            if savepoint:  # inside the request's transaction already (handle)
                with self.store.savepoint():
                    return route.handler(ctx)
            if route.transactional:
                with self.store.transaction():
                    ctx.now = self.clock.now() if at is None else at
                    return route.handler(ctx)
            return route.handler(ctx)
        except ApiError as err:
            return emulator.error_response(err, request, request_id)
        except Exception:  # a bug in an emulator must look like a provider 500, not kill the server
            log.error(
                "sandbox handler failed for %s %s\n%s", request.method, request.path, traceback.format_exc()
            )
            return emulator.error_response(
                ApiError(500, "InternalError", "Internal server error!"), request, request_id
            )

    def commit_due(self) -> None:
        """Run the late-committed requests whose time has come, oldest first, at their due time."""
        now = self.clock.now()
        if not self.late_commits.any_due(now):
            return
        while True:
            with self.store.transaction():
                parked = self.late_commits.take_due(now)
                if parked is None:
                    return
                matched = self.router.match(parked.request.method, parked.request.path)
                emulator = matched[2] if matched else self.router.owner(parked.request.path)
                self._run(
                    parked.request,
                    parked.request_id,
                    matched,
                    emulator,
                    FaultConfig(),
                    parked.fidelity,
                    at=parked.due,
                )

    def _injected_error(
        self, decision: FaultDecision, request: Request, request_id: str, emulator: ProviderEmulator | None
    ) -> Response:
        headers: dict[str, str] = {}
        if decision.kind == "throttle":
            seconds = decision.retry_after_s
            headers["Retry-After"] = str(max(int(seconds + 0.999), 0))
            headers["retry-after-ms"] = str(int(seconds * 1000))
            err = ApiError(
                429, "Throttling", "Requests rate limit exceeded, please try again later.", headers
            )
        elif decision.status == 503:
            err = ApiError(
                503, "ServiceUnavailable", "Service temporarily unavailable, please try again later."
            )
        else:
            err = ApiError(500, "InternalError", "Internal server error!")
        if emulator is None:
            response = self._plain(err.status, err.message)
            response.headers.extend(headers.items())
        else:
            response = emulator.error_response(err, request, request_id)
        response.headers.append(("x-request-id", request_id))
        return response

    def _request_id(self) -> str:
        h = self.store.token(self.seed, "request_id", 32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    @staticmethod
    def _plain(status: int, message: str) -> Response:
        return Response.json(status, {"code": HTTPStatus(status).phrase.replace(" ", ""), "message": message})

    # --- introspection ------------------------------------------------------------------
    def list_objects(self, kind: str) -> list[dict[str, Any]]:
        self.commit_due()
        ctx = Context(
            request=Request.build("GET", "/", "", {}, _EmptyBody(), 0),
            params={},
            store=self.store,
            now=self.clock.now(),
            time_scale=self.time_scale,
            seed=self.seed,
            faults=self.faults,
            request_id="introspection",
            fidelity=self.fidelity,
        )
        with self.store.transaction():
            for emu in self.router.emulators:
                found = emu.list_objects(kind, ctx)
                if found is not None:
                    return found
        raise ValueError(f"unknown sandbox object kind {kind!r}")

    # --- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = request_from_environ(environ)
        outcome = self.handle(request)
        if outcome.drop is not None:
            # Our own server (server.py) sees this key and drops the socket instead of answering;
            # any other WSGI server sends the 502 below, the closest a WSGI app can get.
            environ[DROP_ENVIRON_KEY] = outcome.drop
            outcome = Outcome(self._plain(502, f"response dropped (injected fault: {outcome.drop})"))
        resp = outcome.response
        headers = list(resp.headers)
        if resp.length is not None and not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(resp.length)))
        start_response(f"{resp.status} {HTTPStatus(resp.status).phrase}", headers)
        if isinstance(resp.body, bytes):
            return [resp.body]
        return resp.body


class _EmptyBody:
    def read(self, n: int = -1) -> bytes:
        return b""


def request_from_environ(environ: dict[str, Any]) -> Request:
    headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    length_text = environ.get("CONTENT_LENGTH") or ""
    length = int(length_text) if length_text.isdigit() else None
    if length is not None:
        headers["content-length"] = str(length)
    path = environ.get("PATH_INFO", "/")
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):  # PEP 3333: PATH_INFO is latin-1
        path = path.encode("latin-1").decode("utf-8")
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    body: _LimitedInput | _ChunkedInput = (
        _ChunkedInput(environ["wsgi.input"]) if chunked else _LimitedInput(environ["wsgi.input"], length)
    )
    return Request.build(
        environ.get("REQUEST_METHOD", "GET"), path, environ.get("QUERY_STRING", ""), headers, body, length
    )


class _LimitedInput:
    """wsgi.input may block past the body's end; never read beyond Content-Length."""

    def __init__(self, raw: Any, length: int | None) -> None:
        self._raw = raw
        self._left = length if length is not None else 0

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if n is None or n < 0 or n > self._left:
            n = self._left
        data: bytes = self._raw.read(n)
        self._left -= len(data)
        return data


class _ChunkedInput:
    """Decodes `Transfer-Encoding: chunked` bodies (wsgiref passes them through undecoded)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._left = 0  # bytes left in the current chunk
        self._done = False

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        while not self._done and (n is None or n < 0 or len(out) < n):
            if self._left == 0:
                size_line = self._raw.readline(1024)
                try:
                    self._left = int(size_line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    self._left = 0
                if self._left == 0:
                    while self._raw.readline(1024) not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    self._done = True
                    break
            want = self._left if n is None or n < 0 else min(self._left, n - len(out))
            data = self._raw.read(want)
            if not data:
                self._done = True
                break
            out += data
            self._left -= len(data)
            if self._left == 0:
                self._raw.readline(16)  # the CRLF after each chunk
        return bytes(out)
