"""The provider sandbox: an emulator of the providers' HTTP APIs (DashScope today), with faults.

    sb = Sandbox(db_path=None, clock=None, time_scale=None, faults=None, seed=None)
    httpx.Client(transport=sb.transport(), base_url="http://sandbox")   # in process
    server = serve(sb, port=0); server.url; server.shutdown()          # real HTTP

See `sandbox.py` for the facade, `app.py` for dispatch, `dashscope/` for the emulation.
"""

from __future__ import annotations

from reconciler.sandbox.sandbox import DEFAULT_TIME_SCALE, OBJECT_KINDS, Sandbox
from reconciler.sandbox.server import RunningServer, serve_app


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `sandbox` over HTTP from a background thread; port 0 picks a free port."""
    return serve_app(sandbox.wsgi_app, host, port)


__all__ = ["DEFAULT_TIME_SCALE", "OBJECT_KINDS", "RunningServer", "Sandbox", "serve"]
