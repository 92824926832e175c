"""The request's bookkeeping and its handler share one transaction; a failing handler must still
leave nothing of its own behind (a savepoint), and the request must still be counted."""

from __future__ import annotations

import io
from typing import Any

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig
from reconciler.sandbox.app import SandboxApp
from reconciler.sandbox.routing import ApiError, Context, Request, Response, Route
from reconciler.sandbox.store import Store


class _Emu:
    name = "toy"
    path_prefixes = ("/toy",)

    def schema(self) -> str:
        return "CREATE TABLE IF NOT EXISTS toy (v TEXT)"

    def routes(self) -> list[Route]:
        return [Route("POST", "/toy/ok", self._ok), Route("POST", "/toy/fail", self._fail)]

    def _ok(self, ctx: Context) -> Response:
        ctx.store.execute("INSERT INTO toy (v) VALUES ('ok')")
        return Response.json(200, {"ok": True})

    def _fail(self, ctx: Context) -> Response:
        ctx.store.execute("INSERT INTO toy (v) VALUES ('half-done')")
        raise ApiError(400, "Nope", "refused after a partial write")

    def authenticate(self, request: Request) -> ApiError | None:
        return None

    def error_response(self, error: ApiError, request: Request, request_id: str) -> Response:
        return Response.json(error.status, {"code": error.code})

    def list_objects(self, kind: str, ctx: Context) -> list[dict[str, Any]] | None:
        return None


def _request(path: str) -> Request:
    return Request.build("POST", path, "", {}, io.BytesIO(b""), 0)


def test_a_failing_handler_rolls_back_its_writes_but_the_request_is_counted(tmp_path) -> None:
    store = Store(tmp_path / "sandbox.db")
    app = SandboxApp(store, [_Emu()], FakeClock(), 1.0, 0, FaultConfig())
    assert app.handle(_request("/toy/ok")).response.status == 200
    failed = app.handle(_request("/toy/fail"))
    assert failed.response.status == 400
    assert any(k == "x-request-id" for k, _ in failed.response.headers)
    assert [r["v"] for r in store.query("SELECT v FROM toy")] == ["ok"]
    assert store.request_counts() == {"POST /toy/fail": 1, "POST /toy/ok": 1}
    assert not store.conn.in_transaction
    store.close()
