"""ImgOpenClient against a scripted MockTransport: wire format, envelopes, error mapping, retries, secrets."""

from __future__ import annotations

import logging

import httpx
import pytest
from imgopen_fakes import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    BASE,
    URLS,
    ScriptedImgOpen,
    envelope,
    scripted_client,
)

from reconciler.clock import FakeClock
from reconciler.providers.errors import (
    AuthError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermanentError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from reconciler.providers.imgopen import ImgOpenClient, ResultState
from reconciler.providers.imgopen.client import SUBMIT_PATH, submit_body
from reconciler.providers.imgopen.result_endpoint import RESULT_PATH


@pytest.fixture
def server() -> ScriptedImgOpen:
    return ScriptedImgOpen()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(server: ScriptedImgOpen, clock: FakeClock) -> ImgOpenClient:
    return scripted_client(server, clock)


# --- wire format ---------------------------------------------------------------------------------
def test_submit_sends_both_credential_headers_and_the_camel_case_body(
    server: ScriptedImgOpen, client: ImgOpenClient
) -> None:
    server.script(envelope())
    result = client.submit_training(
        "rcl-cat-0123",
        URLS,
        {"maxEpochs": 12, "learningRate": 1e-5, "unetLr": "1e-4", "randomCrop": False, "noiseOffset": 0.05},
    )
    assert result.already_existed is False and result.task_id == "rcl-cat-0123" and result.code == "200"
    sent = server.last
    assert sent.method == "POST" and sent.path == SUBMIT_PATH
    assert sent.path == "/AIGCImgOpenServ/saas/modelTraining/submitTraining/Job"
    assert sent.headers["X-Request-req-accessKeyId"] == ACCESS_KEY_ID
    assert sent.headers["X-Request-req-accessKeySecret"] == ACCESS_KEY_SECRET
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {
        "taskId": "rcl-cat-0123",
        "fileUrlList": URLS,
        "maxEpochs": 12,
        "learningRate": "0.00001",
        "randomCrop": False,
        "unetLr": "0.0001",
        "noiseOffset": 0.05,
    }
    assert isinstance(sent.json["learningRate"], str)


def test_unset_fields_are_omitted_leaving_imgopen_defaults(
    server: ScriptedImgOpen, client: ImgOpenClient
) -> None:
    server.script(envelope())
    client.submit_training("t", URLS, {"seed": None, "batchSize": 2})
    assert server.last.json == {"taskId": "t", "fileUrlList": URLS, "batchSize": 2}


@pytest.mark.parametrize(
    ("task_id", "urls", "fields", "fragment"),
    [
        ("", URLS, {}, "taskId"),
        ("t", URLS[:9], {}, "10-100"),
        ("t", URLS * 9, {}, "10-100"),
        ("t", URLS, {"max_epochs": 20}, "camelCase"),
        ("t", URLS, {"file_url_list": URLS}, "camelCase"),
        ("t", URLS, {"learningRate": "fast"}, "learningRate"),
        ("t", URLS, {"learningRate": True}, "learningRate"),
    ],
)
def test_requests_the_api_would_refuse_are_not_sent(
    server: ScriptedImgOpen, client: ImgOpenClient, task_id: str, urls: list[str], fields: dict, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        client.submit_training(task_id, urls, fields)
    assert server.count == 0


def test_submit_body_normalises_decimal_strings() -> None:
    body = submit_body("t", URLS, {"learningRate": "1E-7", "textEncoderLr": 5e-05})
    assert body["learningRate"] == "0.0000001" and body["textEncoderLr"] == "0.00005"


def test_query_result_sends_the_inferred_request_and_reads_the_answer(
    server: ScriptedImgOpen, client: ImgOpenClient
) -> None:
    url = "https://cdn.zhiqite.com/lora/t.safetensors"
    server.script(envelope(data={"taskId": "t", "status": 2, "loraUrl": url}))
    result = client.query_result("t")
    assert server.last.path == RESULT_PATH and server.last.json == {"taskId": "t"}
    assert server.last.headers["X-Request-req-accessKeySecret"] == ACCESS_KEY_SECRET
    assert result.state is ResultState.SUCCEEDED and result.status == 2 and result.lora_url == url


@pytest.mark.parametrize("code", ["200", 200])
def test_success_code_is_the_string_200_and_the_integer_is_accepted(
    server: ScriptedImgOpen, client: ImgOpenClient, code: object
) -> None:
    server.script(envelope(code=code, data={"taskId": "t", "status": "3"}))
    result = client.query_result("t")
    assert result.state is ResultState.IN_PROGRESS and result.status == 3


@pytest.mark.parametrize("base", [BASE, f"{BASE}/", f"{BASE}/AIGCImgOpenServ", f"{BASE}/AIGCImgOpenServ/"])
def test_base_url_may_include_the_api_root(server: ScriptedImgOpen, clock: FakeClock, base: str) -> None:
    server.script(envelope())
    c = ImgOpenClient(
        base, ACCESS_KEY_ID, ACCESS_KEY_SECRET, transport=httpx.MockTransport(server.handler), clock=clock
    )
    c.submit_training("t", URLS, {})
    assert str(server.last.path) == SUBMIT_PATH and c.base_url == BASE


def test_clear_text_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="clear-text"):
        ImgOpenClient("http://api.zhiqite.com", ACCESS_KEY_ID, ACCESS_KEY_SECRET)


@pytest.mark.parametrize(("key_id", "secret"), [("", "s"), ("id", ""), ("  ", "s")])
def test_empty_credentials_are_refused_before_any_request(key_id: str, secret: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        ImgOpenClient(BASE, key_id, secret)


# --- error mapping -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("response", "cls"),
    [
        (envelope("400", "maxEpochs must be 10-50"), InvalidRequestError),
        (envelope("401", "Unauthorized"), AuthError),
        (envelope("403", "Forbidden"), AuthError),
        (envelope("409", "conflict"), ConflictError),
        (envelope("4711", "something new"), PermanentError),
        (envelope("500", "internal"), ServerError),
        (envelope("429", "slow down"), RateLimitedError),
        (envelope("9", "busy", status=429), RateLimitedError),
        (envelope("9", "gateway", status=502), ServerError),
        (envelope(None, "no code", status=401), AuthError),
        (envelope(None, "bad", status=400), InvalidRequestError),
        (httpx.Response(404, text="<html>Not Found</html>"), PermanentError),
    ],
)
def test_error_codes_map_onto_the_shared_tree(
    server: ScriptedImgOpen, clock: FakeClock, response: httpx.Response, cls: type
) -> None:
    server.script(response)
    client = scripted_client(server, clock, max_attempts=1)
    with pytest.raises(cls) as caught:
        client.query_result("t")
    assert type(caught.value) is cls
    assert caught.value.provider == "imgopen" and caught.value.operation == "query_result"


def test_an_http_404_is_a_missing_endpoint_not_a_missing_task(
    server: ScriptedImgOpen, client: ImgOpenClient
) -> None:
    server.script(envelope("404", "Not Found", status=404))
    with pytest.raises(PermanentError) as caught:
        client.query_result("t")
    assert not isinstance(caught.value, NotFoundError)
    assert "does not exist on this host" in str(caught.value)


@pytest.mark.parametrize(
    ("code", "msg"), [("404", "taskId t not found"), ("500x", "task does not exist"), ("1", "任务不存在")]
)
def test_an_unknown_task_is_not_found(
    server: ScriptedImgOpen, client: ImgOpenClient, code: str, msg: str
) -> None:
    server.script(envelope(code, msg))
    with pytest.raises(NotFoundError):
        client.query_result("t")
    assert server.count == 1


def test_a_submit_error_mentioning_a_missing_file_is_not_read_as_an_unknown_task(
    server: ScriptedImgOpen, client: ImgOpenClient
) -> None:
    server.script(envelope("400", "image file not found"))
    with pytest.raises(InvalidRequestError):
        client.submit_training("t", URLS, {})


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"msg": "no code"}),
        envelope(data={"taskId": "t"}),  # no status
        envelope(data={"taskId": "t", "status": 2}),  # succeeded without a LoRA URL
        envelope(data={"taskId": "other", "status": 1}),  # about another task
        envelope(data=["t"]),
    ],
)
def test_bodies_that_are_not_the_assumed_shape_are_server_errors(
    server: ScriptedImgOpen, clock: FakeClock, response: httpx.Response
) -> None:
    server.script(response)
    client = scripted_client(server, clock, max_attempts=1)
    with pytest.raises(ServerError, match="unexpected response body"):
        client.query_result("t")


def test_failed_result_carries_the_message(server: ScriptedImgOpen, client: ImgOpenClient) -> None:
    server.script(envelope(data={"taskId": "t", "status": 4, "msg": "CUDA out of memory"}))
    result = client.query_result("t")
    assert (
        result.state is ResultState.FAILED
        and result.message == "CUDA out of memory"
        and result.lora_url is None
    )


# --- retries and idempotency ---------------------------------------------------------------------
def test_reads_are_retried_honouring_retry_after(
    server: ScriptedImgOpen, client: ImgOpenClient, clock: FakeClock
) -> None:
    server.script(
        envelope("429", "slow", status=429, headers={"Retry-After": "7"}),
        envelope(data={"taskId": "t", "status": 1}),
    )
    start = clock.now()
    assert client.query_result("t").status == 1
    assert server.count == 2 and clock.now() - start == pytest.approx(7.0)


def test_a_duplicate_task_id_is_already_submitted_not_an_error(
    server: ScriptedImgOpen, client: ImgOpenClient
) -> None:
    server.script(envelope("409", "taskId already exists"))
    result = client.submit_training("t", URLS, {})
    assert result.already_existed is True and result.code == "409" and "already exists" in result.message


@pytest.mark.parametrize("msg", ["taskId already exist", "Duplicate taskId", "任务ID已存在"])
def test_duplicate_is_recognised_by_message_whatever_the_code(
    server: ScriptedImgOpen, client: ImgOpenClient, msg: str
) -> None:
    server.script(envelope("500001", msg))
    assert client.submit_training("t", URLS, {}).already_existed is True


def test_a_submit_whose_response_was_lost_is_resent_and_recognised(
    server: ScriptedImgOpen, client: ImgOpenClient
) -> None:
    lost = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    server.script(lost, envelope("409", "taskId already exists"))
    result = client.submit_training("t", URLS, {})
    assert result.already_existed is True
    assert server.count == 2 and server.requests[0].json == server.requests[1].json  # same taskId both times


def test_a_submit_that_never_got_an_answer_is_an_unknown_outcome(
    server: ScriptedImgOpen, clock: FakeClock
) -> None:
    server.script(httpx.ReadTimeout("timed out"))
    client = scripted_client(server, clock, max_attempts=3)
    with pytest.raises(OutcomeUnknownError) as caught:
        client.submit_training("t", URLS, {})
    assert isinstance(caught.value.cause, TransportError) and server.count == 3
    assert "query the taskId" in str(caught.value)


def test_a_submit_refused_by_throttling_is_not_an_unknown_outcome(
    server: ScriptedImgOpen, clock: FakeClock
) -> None:
    server.script(envelope("429", "slow", status=429, headers={"Retry-After": "1"}))
    client = scripted_client(server, clock, max_attempts=2)
    with pytest.raises(RateLimitedError):
        client.submit_training("t", URLS, {})
    assert server.count == 2


def test_a_connect_error_on_submit_is_retried_then_succeeds(
    server: ScriptedImgOpen, client: ImgOpenClient
) -> None:
    server.script(httpx.ConnectError("refused"), envelope())
    assert client.submit_training("t", URLS, {}).already_existed is False
    assert server.count == 2


# --- secrets -------------------------------------------------------------------------------------
def test_secrets_never_appear_in_reprs_errors_or_logs(
    server: ScriptedImgOpen, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"bad key {ACCESS_KEY_ID} / {ACCESS_KEY_SECRET}"
    server.script(envelope("401", echo), httpx.ConnectError(f"refused, secret was {ACCESS_KEY_SECRET}"))
    client = scripted_client(server, clock, max_attempts=1)
    for text in (repr(client), repr(client._auth), str(client.__dict__)):
        assert ACCESS_KEY_ID not in text and ACCESS_KEY_SECRET not in text
    with pytest.raises(AuthError) as auth:
        client.query_result("t")
    with pytest.raises(TransportError) as transport:
        client.query_result("t")
    for exc in (auth.value, transport.value):
        for text in (str(exc), repr(exc), *map(str, exc.args)):
            assert ACCESS_KEY_ID not in text and ACCESS_KEY_SECRET not in text
    assert "***" in str(auth.value) and "access_key_id_env" in str(auth.value)
    assert ACCESS_KEY_SECRET not in caplog.text and ACCESS_KEY_ID not in caplog.text
