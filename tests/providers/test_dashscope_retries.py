"""Exact request counts under the retry rules, with a FakeClock (no wall time)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
import seed_examples as seed
from dashscope_fakes import API_KEY, BASE, err, ok

from reconciler.clock import FakeClock
from reconciler.providers.dashscope import DashScopeClient, DeploymentCreate, FineTuneCreate
from reconciler.providers.errors import (
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from reconciler.providers.http import RetryPolicy

CREATE = FineTuneCreate(
    model="wan2.5-i2v-preview", training_file_ids=["file-1"], training_type="efficient_sft"
)


def elapsed(clock: FakeClock, start: float = 1_767_225_600.0) -> float:
    return round(clock.now() - start, 6)


# --- reads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        err(429, "Throttling", "slow"),
        err(500, "InternalError"),
        err(502),
        err(503, "ServiceUnavailable"),
        err(504, "GatewayTimeout"),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("Connection reset by peer"),
    ],
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else f"HTTP{f.status_code}",
)
def test_read_recovers_after_temporary_failures(server, client, clock, failure) -> None:
    server.script(failure, failure, ok(seed.GET_FINE_TUNE))
    assert client.get_fine_tune("ft-1").status == "SUCCEEDED"
    assert server.count == 3
    assert elapsed(clock) > 0  # backed off on the fake clock


def test_read_gives_up_after_max_attempts(server, client, clock) -> None:
    server.script(err(503, "ServiceUnavailable"))
    with pytest.raises(ServerError):
        client.get_deployment("d")
    assert server.count == 5


def test_max_attempts_is_configurable(server, clock) -> None:
    c = DashScopeClient(
        BASE,
        API_KEY,
        transport=httpx.MockTransport(server.handler),
        clock=clock,
        retry=RetryPolicy(max_attempts=2, rng=random.Random(1)),
    )
    server.script(httpx.ReadTimeout("t"))
    with pytest.raises(TransportError) as info:
        c.list_deployments()
    assert server.count == 2 and info.value.maybe_committed


def test_permanent_errors_are_not_retried(server, client) -> None:
    server.script(err(404, "NotFound", "Not found."))
    with pytest.raises(NotFoundError):
        client.get_deployment("gone")
    assert server.count == 1


def test_backoff_is_exponential_with_bounded_jitter(server, clock) -> None:
    policy = RetryPolicy(
        max_attempts=5, initial_backoff=0.5, max_backoff=8.0, jitter=0.25, rng=random.Random(3)
    )
    sleeps: list[float] = []
    original = clock.sleep
    clock.sleep = lambda s: (sleeps.append(s), original(s))[1]  # type: ignore[method-assign]
    c = DashScopeClient(
        BASE, API_KEY, transport=httpx.MockTransport(server.handler), clock=clock, retry=policy
    )
    server.script(err(500, "InternalError"))
    with pytest.raises(ServerError):
        c.get_fine_tune("ft-1")
    assert len(sleeps) == 4
    for n, s in enumerate(sleeps, start=1):
        base = min(8.0, 0.5 * 2 ** (n - 1))
        assert base <= s <= base * 1.25
    # the same seed gives the same waits
    again = RetryPolicy(rng=random.Random(3))
    assert [round(again.delay(n, None), 9) for n in range(1, 5)] == [round(s, 9) for s in sleeps]


def test_retry_after_seconds_is_honoured(server, client, clock) -> None:
    server.script(err(429, "Throttling", headers={"Retry-After": "7"}), ok(seed.GET_FINE_TUNE))
    client.get_fine_tune("ft-1")
    assert server.count == 2
    assert elapsed(clock) == 7.0


def test_retry_after_ms_is_honoured(server, client, clock) -> None:
    server.script(err(503, headers={"retry-after-ms": "1500"}), ok(seed.GET_FINE_TUNE))
    client.get_fine_tune("ft-1")
    assert elapsed(clock) == 1.5


def test_retry_after_http_date_is_honoured(server, client, clock) -> None:
    when = datetime.fromtimestamp(clock.now() + 12, tz=UTC)
    server.script(
        err(429, "Throttling", headers={"Retry-After": format_datetime(when, usegmt=True)}),
        ok(seed.GET_FINE_TUNE),
    )
    client.get_fine_tune("ft-1")
    assert elapsed(clock) == 12.0


def test_retry_after_is_capped(server, client, clock) -> None:
    server.script(err(429, "Throttling", headers={"Retry-After": "3600"}), ok(seed.GET_FINE_TUNE))
    client.get_fine_tune("ft-1")
    assert elapsed(clock) == 60.0


def test_exhausted_rate_limit_carries_the_servers_retry_after(server, client) -> None:
    server.script(err(429, "Throttling", headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError) as info:
        client.get_fine_tune("ft-1")
    assert info.value.retry_after == 3600.0  # the engine can schedule a later attempt


@pytest.mark.parametrize(
    ("call", "expected_method"),
    [
        (lambda c: c.delete_fine_tune("ft-1"), "DELETE"),
        (lambda c: c.cancel_fine_tune("ft-1"), "POST"),
        (lambda c: c.scale_deployment("d", 2), "PUT"),
        (lambda c: c.delete_deployment("d"), "DELETE"),
        (lambda c: c.delete_file("file-1"), "DELETE"),
        (lambda c: c.export_checkpoint("ft-1", "checkpoint-160", model_name="m"), "GET"),
    ],
    ids=["delete_fine_tune", "cancel", "scale", "delete_deployment", "delete_file", "export"],
)
def test_idempotent_mutations_are_retried_after_a_read_timeout(server, client, call, expected_method) -> None:
    body = {"request_id": "r", "output": {**seed.GET_DEPLOYMENT["output"], "status": "x"}, "deleted": True}
    if expected_method == "GET":
        body = seed.EXPORT
    server.script(httpx.ReadTimeout("t"), ok(body))
    call(client)
    assert server.count == 2
    assert {r.method for r in server.requests} == {expected_method}


# --- creates ----------------------------------------------------------------------------------

CREATES = [
    ("create_fine_tune", lambda c: c.create_fine_tune(CREATE), seed.CREATE_FINE_TUNE),
    (
        "create_deployment",
        lambda c: c.create_deployment(DeploymentCreate(model_name="m")),
        seed.CREATE_DEPLOYMENT,
    ),
]


@pytest.mark.parametrize(("name", "call", "body"), CREATES, ids=[c[0] for c in CREATES])
@pytest.mark.parametrize(
    "ambiguous",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("Connection reset by peer"),
        err(500, "InternalError"),
        err(502),
        err(504, "GatewayTimeout"),
    ],
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else f"HTTP{f.status_code}",
)
def test_create_is_not_retried_when_the_outcome_is_unknown(
    server, client, name, call, body, ambiguous
) -> None:
    server.script(ambiguous, ok(body))
    with pytest.raises(OutcomeUnknownError) as info:
        call(client)
    assert server.count == 1
    exc = info.value
    assert exc.operation == name and exc.retryable
    assert "look the object up" in str(exc)
    if isinstance(ambiguous, Exception):
        assert isinstance(exc.cause, TransportError) and exc.cause.maybe_committed
        assert exc.__cause__ is exc.cause


@pytest.mark.parametrize(("name", "call", "body"), CREATES, ids=[c[0] for c in CREATES])
@pytest.mark.parametrize(
    "refused",
    [
        err(429, "Throttling", "slow down"),
        err(503, "ServiceUnavailable"),
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("no connection available"),
    ],
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else f"HTTP{f.status_code}",
)
def test_create_is_retried_when_the_server_surely_did_not_act(
    server, client, name, call, body, refused
) -> None:
    server.script(refused, refused, ok(body))
    call(client)
    assert server.count == 3
    assert {r.method for r in server.requests} == {"POST"}


def test_create_exhausting_429s_raises_rate_limited_not_outcome_unknown(server, client) -> None:
    server.script(err(429, "Throttling", headers={"Retry-After": "2"}))
    with pytest.raises(RateLimitedError):
        client.create_fine_tune(CREATE)
    assert server.count == 5


def test_create_429_then_read_timeout_is_outcome_unknown(server, client) -> None:
    server.script(err(429, "Throttling"), httpx.ReadTimeout("t"), ok(seed.CREATE_FINE_TUNE))
    with pytest.raises(OutcomeUnknownError):
        client.create_fine_tune(CREATE)
    assert server.count == 2


def test_upload_read_timeout_is_outcome_unknown(server, client, tmp_path) -> None:
    path = tmp_path / "d.zip"
    path.write_bytes(b"z" * 10)
    server.script(httpx.ReadTimeout("t"), ok(seed.UPLOAD_FILE))
    with pytest.raises(OutcomeUnknownError) as info:
        client.upload_file(path, filename="d.zip")
    assert server.count == 1 and info.value.operation == "upload_file"


def test_upload_retry_resends_the_whole_file(server, client, tmp_path) -> None:
    path = tmp_path / "d.zip"
    path.write_bytes(b"0123456789" * 100)
    server.script(err(503, "ServiceUnavailable"), ok(seed.UPLOAD_FILE))
    client.upload_file(path, filename="d.zip")
    assert server.count == 2
    first, second = server.requests
    assert b"0123456789" * 100 in second.body
    assert len(first.body) == len(second.body)


def test_unseekable_upload_stream_gets_one_attempt(server, client) -> None:
    class Pipe:
        def __init__(self) -> None:
            self.data = [b"abc", b""]

        def read(self, n: int = -1) -> bytes:
            return self.data.pop(0) if self.data else b""

        def seekable(self) -> bool:
            return False

    server.script(err(503, "ServiceUnavailable"), ok(seed.UPLOAD_FILE))
    with pytest.raises(ServerError):
        client.upload_file(Pipe(), filename="p.zip")  # type: ignore[arg-type]
    assert server.count == 1


def test_list_pagination_retries_one_page_not_the_walk(server, client) -> None:
    page1 = {
        "request_id": "r",
        "output": {
            "page_no": 1,
            "page_size": 1,
            "total": 2,
            "jobs": [{**seed.GET_FINE_TUNE["output"], "job_id": "a"}],
        },
    }
    page2 = {
        "request_id": "r",
        "output": {
            "page_no": 2,
            "page_size": 1,
            "total": 2,
            "jobs": [{**seed.GET_FINE_TUNE["output"], "job_id": "b"}],
        },
    }
    server.script(ok(page1), err(503), ok(page2))
    assert [j.job_id for j in client.iter_fine_tunes(page_size=1)] == ["a", "b"]
    assert [r.query["page_no"] for r in server.requests] == [["1"], ["2"], ["2"]]
