"""The error-mapping table: status / code / body → exception class, retryable, message."""

from __future__ import annotations

import httpx
import pytest
from dashscope_fakes import ScriptedServer, err, ok

from reconciler.providers.dashscope import DashScopeClient
from reconciler.providers.errors import (
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermanentError,
    ProviderError,
    QuotaError,
    RateLimitedError,
    ServerError,
    TemporaryError,
)
from reconciler.providers.http import NO_RETRIES

TABLE = [
    # status, code, message, expected class, retryable
    (400, "InvalidParameter", "Missing training files", InvalidRequestError, False),
    (
        400,
        "UnsupportedOperation",
        "The fine-tune job can not be deleted because it is succeeded",
        InvalidRequestError,
        False,
    ),
    (401, "InvalidApiKey", "Invalid API-key provided.", AuthError, False),
    (403, "AccessDenied", "Access denied.", AuthError, False),
    (403, "AccessDenied.Unpurchased", "not activated", AuthError, False),
    (403, "Arrearage", "overdue", AuthError, False),
    (404, "NotFound", "Not found.", NotFoundError, False),
    (404, "Model.NotExist", "Model: xxx not found!", NotFoundError, False),
    (409, "Conflict", "Deployed model xxx already exists, please specify a suffix", ConflictError, False),
    (429, "Throttling", "Requests throttling triggered.", RateLimitedError, True),
    (
        429,
        "Throttling.RateQuota",
        "Too many fine-tune job in running, please retry later.",
        RateLimitedError,
        True,
    ),
    (
        429,
        "Throttling.AllocationQuota",
        "Only 20 fine-tune job in running or succeeded allowed per user.",
        QuotaError,
        False,
    ),
    (429, None, "Only 20 fine-tune job in running or succeeded allowed per user.", QuotaError, False),
    (500, "InternalError", "Internal server error!", ServerError, True),
    (502, None, "Bad gateway", ServerError, True),
    (503, "ServiceUnavailable", "busy", ServerError, True),
    (504, "GatewayTimeout", "timeout", ServerError, True),
    (408, None, "request timeout", ServerError, True),
    (413, None, "too large", InvalidRequestError, False),
    (418, None, "teapot", PermanentError, False),
    # HTTP 200 with a top-level business code is an error, classified by the code.
    (200, "InvalidParameter", "bad", InvalidRequestError, False),
    (200, "Throttling", "slow down", RateLimitedError, True),
    (200, "InternalError", "oops", ServerError, True),
    (200, "SomethingNew", "unknown business failure", PermanentError, False),
]


@pytest.mark.parametrize(("status", "code", "message", "cls", "retryable"), TABLE)
def test_error_table(
    server: ScriptedServer, client: DashScopeClient, status, code, message, cls, retryable
) -> None:
    client._retry = NO_RETRIES
    server.script(err(status, code, message, request_id="rid-42"))
    with pytest.raises(ProviderError) as info:
        client.get_fine_tune("ft-1")
    exc = info.value
    assert type(exc) is cls
    assert exc.retryable is retryable
    assert isinstance(exc, TemporaryError) is retryable
    assert (exc.status, exc.code, exc.request_id) == (status, code, "rid-42")
    assert (exc.provider, exc.operation) == ("dashscope", "get_fine_tune")
    assert message in str(exc)
    assert "rid-42" in str(exc) and f"HTTP {status}" in str(exc)


def test_openai_compatible_error_envelope(server: ScriptedServer, client: DashScopeClient) -> None:
    client._retry = NO_RETRIES
    server.script(
        httpx.Response(
            401,
            json={"error": {"type": "invalid_request_error", "message": "Incorrect API key"}},
            headers={"x-request-id": "hdr-7"},
        )
    )
    with pytest.raises(AuthError) as info:
        client.list_files()
    assert info.value.code == "invalid_request_error"
    assert info.value.request_id == "hdr-7"
    assert "Incorrect API key" in str(info.value)
    assert "environment variable" in str(info.value)  # says what to do


def test_openai_error_envelope_on_200_is_an_error(server: ScriptedServer, client: DashScopeClient) -> None:
    client._retry = NO_RETRIES
    server.script(ok({"error": {"code": "invalid_file", "message": "bad zip"}}))
    with pytest.raises(PermanentError, match="bad zip"):
        client.get_file("file-1")


def test_msg_key_is_accepted(server: ScriptedServer, client: DashScopeClient) -> None:
    server.script(
        httpx.Response(
            400, json={"request_id": "r", "code": "InvalidParameter", "msg": "capacity must be < 1000"}
        )
    )
    with pytest.raises(InvalidRequestError, match="capacity must be < 1000"):
        client.scale_deployment("d", 5000)


def test_file_not_found_400_is_remapped_for_file_reads(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    server.script(err(400, "InvalidParameter", "File not found."))
    with pytest.raises(NotFoundError):
        client.get_file("file-gone")
    with pytest.raises(NotFoundError):
        client.delete_file("file-gone")


def test_file_not_found_on_create_stays_invalid_request(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    from reconciler.providers.dashscope import FineTuneCreate

    server.script(err(400, "InvalidParameter", "File not found."))
    with pytest.raises(InvalidRequestError):
        client.create_fine_tune(FineTuneCreate(model="m", training_file_ids=["file-gone"]))


def test_quota_error_says_what_to_do(server: ScriptedServer, client: DashScopeClient) -> None:
    from reconciler.providers.dashscope import FineTuneCreate

    server.script(
        err(
            429,
            "Throttling.AllocationQuota",
            "Only 20 fine-tune job in running or succeeded allowed per user.",
        )
    )
    with pytest.raises(QuotaError, match="delete finished jobs") as info:
        client.create_fine_tune(FineTuneCreate(model="m", training_file_ids=["f"]))
    assert server.count == 1  # never retried: waiting a few seconds cannot free a slot
    assert not info.value.retryable


def test_non_json_error_body_is_truncated(server: ScriptedServer, client: DashScopeClient) -> None:
    client._retry = NO_RETRIES
    server.script(httpx.Response(502, text="<html>" + "x" * 5000 + "</html>"))
    with pytest.raises(ServerError) as info:
        client.get_deployment("d")
    assert len(info.value.message) < 600
    assert "more characters" in info.value.message


def test_malformed_2xx_body_is_a_server_error(server: ScriptedServer, client: DashScopeClient) -> None:
    client._retry = NO_RETRIES
    server.script(httpx.Response(200, text="<html>proxy login</html>"))
    with pytest.raises(ServerError, match="unexpected response body"):
        client.get_fine_tune("ft-1")
    server.steps[:] = [ok({"request_id": "r", "output": {"no_job_id": True}})]
    with pytest.raises(ServerError, match="expected output: job"):
        client.get_fine_tune("ft-1")
