"""The provider sandbox: an emulator of the providers' HTTP APIs (DashScope today), with faults.

    sb = Sandbox(db_path=None, clock=None, time_scale=None, faults=None, seed=None)
    httpx.Client(transport=sb.transport(), base_url="http://sandbox")   # in process
    server = serve(sb, port=0); server.url; server.shutdown()          # real HTTP

See `sandbox.py` for the facade, `app.py` for dispatch, `dashscope/` for the emulation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.sandbox.sandbox import DEFAULT_TIME_SCALE, OBJECT_KINDS, Sandbox

if TYPE_CHECKING:
    from reconciler.sandbox.server import RunningServer


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `sandbox` over HTTP from a background thread; port 0 picks a free port."""
    # imported here: the in-process sandbox (every plan and apply against it) needs no HTTP
    # server, and http.server/socketserver/wsgiref are 4-5 ms of start-up
    from reconciler.sandbox.server import serve_app

    return serve_app(sandbox.wsgi_app, host, port)


def __getattr__(name: str) -> Any:
    if name == "RunningServer":
        from reconciler.sandbox.server import RunningServer

        return RunningServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_TIME_SCALE", "OBJECT_KINDS", "RunningServer", "Sandbox", "serve"]
