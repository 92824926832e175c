"""The in-process way in: an httpx transport that hands requests straight to the sandbox app.

Clients keep using their real code path (URL building, headers, JSON, multipart streaming, error
mapping); only the socket is skipped. Request bodies stream (a large upload is never buffered,
unlike `httpx.WSGITransport`). Dropped connections become the httpx exceptions a real network
would produce: a reset is `ReadError`, an unanswered request `ReadTimeout` (after the clock
sleeps through the client's read timeout), a lost response `ReadTimeout` or `RemoteProtocolError`
raised only after the handler committed its change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import httpx

from reconciler.clock import Clock
from reconciler.models.faults import FaultConfig
from reconciler.sandbox.app import SandboxApp
from reconciler.sandbox.routing import BodyReader, Request

MAX_SIMULATED_WAIT_S = 30.0


class _BodyStream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class SandboxTransport(httpx.BaseTransport):
    def __init__(
        self, app: SandboxApp, clock: Clock, faults: FaultConfig | None = None, fidelity: str | None = None
    ) -> None:
        self._app = app
        self._clock = clock
        self._faults = faults
        self._fidelity = fidelity

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        length = request.headers.get("content-length")
        sandbox_request = Request.build(
            request.method,
            request.url.path,
            request.url.query.decode("ascii", "replace"),
            # one pass over the headers (`dict(headers)` looks each name up again: a scan apiece)
            dict(request.headers.items()),
            BodyReader(request.stream),  # type: ignore[arg-type]  # a sync client's stream iterates bytes
            int(length) if length and length.isdigit() else None,
        )
        outcome = self._app.handle(sandbox_request, self._faults, self._fidelity)
        if outcome.drop == "reset":
            raise httpx.ReadError(
                "[Errno 104] Connection reset by peer (injected by the sandbox)", request=request
            )
        if outcome.drop == "timeout":
            self._wait_out(request)
            raise httpx.ReadTimeout("The read operation timed out (injected by the sandbox)", request=request)
        if outcome.drop == "lost":
            body = outcome.response.body
            if not isinstance(body, bytes) and hasattr(body, "close"):
                body.close()
            if outcome.fault.lost_as == "timeout":
                self._wait_out(request)
                raise httpx.ReadTimeout(
                    "The read operation timed out (injected by the sandbox)", request=request
                )
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response. (injected by the sandbox)", request=request
            )
        resp = outcome.response
        if isinstance(resp.body, bytes):
            return httpx.Response(resp.status, headers=resp.headers, content=resp.body, request=request)
        headers = list(resp.headers)
        if resp.length is not None:
            headers.append(("Content-Length", str(resp.length)))
        return httpx.Response(resp.status, headers=headers, stream=_BodyStream(resp.body), request=request)

    def _wait_out(self, request: httpx.Request) -> None:
        """The client would have waited its read timeout before giving up; let the clock show it."""
        timeout = request.extensions.get("timeout", {}).get("read")
        if isinstance(timeout, int | float) and timeout > 0:
            self._clock.sleep(min(float(timeout), MAX_SIMULATED_WAIT_S))
