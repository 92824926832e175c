"""`serve`: the sandbox over real HTTP, for clients we did not write (the official SDKs, curl).

A threaded wsgiref server (one thread per connection, one request per connection). Faults the
app asks to drop are realised at the socket: a reset sends RST, a lost response closes the
connection after the change was committed, a timeout holds the connection silently until the
client gives up (or the server shuts down). It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import IO, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from reconciler.sandbox.app import DROP_ENVIRON_KEY

log = logging.getLogger(__name__)

TIMEOUT_HOLD_S = 120.0  # how long an injected "never answers" holds the connection at most


class _Dropped(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _ServerHandler(ServerHandler):
    environ: dict[str, Any]  # set by setup_environ(); typeshed does not declare it
    request_handler: WSGIRequestHandler  # lets the app's drop reach the socket

    def run(self, application: Any) -> None:
        try:
            self.setup_environ()
            self.result = application(self.environ, self.start_response)
            drop = self.environ.get(DROP_ENVIRON_KEY)
            if drop:
                if hasattr(self.result, "close"):
                    self.result.close()
                raise _Dropped(drop)
            self.finish_response()
        except _Dropped:
            raise
        except (ConnectionAbortedError, BrokenPipeError, ConnectionResetError):
            return
        except Exception:
            try:
                self.handle_error()
            except Exception:
                self.close()
                raise


class _RequestHandler(WSGIRequestHandler):
    server: _ThreadingWSGIServer

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _ServerHandler(
            cast(IO[bytes], self.rfile),
            cast(IO[bytes], self.wfile),
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self
        try:
            handler.run(self.server.get_app())
        except _Dropped as dropped:
            self._drop(dropped.kind)

    def _drop(self, kind: str) -> None:
        sock: socket.socket = self.connection
        if kind == "timeout":
            self._hold(sock)
        if kind == "reset":
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Lost response / after a timeout: close without a byte of response.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        if kind != "reset":  # a reset must not send FIN first
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def _hold(self, sock: socket.socket) -> None:
        """Say nothing until the client hangs up, the hold expires, or the server stops."""
        stop = self.server.stopping
        waited = 0.0
        while waited < TIMEOUT_HOLD_S and not stop.is_set():
            readable, _, _ = select.select([sock], [], [], 0.1)
            waited += 0.1
            if readable:
                try:
                    if not sock.recv(1 << 16, socket.MSG_PEEK):
                        return  # client closed
                    sock.recv(1 << 16)
                except OSError:
                    return

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s - %s", self.address_string(), format % args)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("sandbox connection error from %s", client_address, exc_info=True)


@dataclass
class RunningServer:
    """A sandbox served over HTTP in a background thread."""

    host: str
    port: int
    _server: _ThreadingWSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def shutdown(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class _ThreadingWSGIServerV6(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


def make_server(app: Any, host: str = "127.0.0.1", port: int = 0) -> _ThreadingWSGIServer:
    cls = _ThreadingWSGIServerV6 if ":" in host else _ThreadingWSGIServer
    server = cls((host, port), _RequestHandler)
    server.set_app(app)
    return server


def serve_app(app: Any, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start serving `app` in a daemon thread; port 0 picks a free port."""
    server = make_server(app, host, port)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True
    )
    thread.start()
    return RunningServer(host=host, port=server.server_address[1], _server=server, _thread=thread)
