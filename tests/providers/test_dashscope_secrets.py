"""The API key never appears in a repr, a str, an exception or a log line."""

from __future__ import annotations

import logging

import httpx
import pytest
from dashscope_fakes import API_KEY, BASE, ScriptedServer, err

from reconciler.clock import FakeClock
from reconciler.providers.dashscope import DashScopeClient, FineTuneCreate
from reconciler.providers.errors import ConfigurationError, ProviderError, redact
from reconciler.providers.http import NO_RETRIES


def test_repr_masks_the_key() -> None:
    c = DashScopeClient(BASE, API_KEY, workspace="llm-x")
    assert "api_key=***" in repr(c)
    assert API_KEY not in repr(c) and API_KEY not in str(c)
    assert API_KEY not in repr(c._auth) and API_KEY not in repr(vars(c))
    c.close()


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="API key is empty"):
        DashScopeClient(BASE, "  ")


def test_http_to_remote_host_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigurationError) as info:
        DashScopeClient("http://dashscope-intl.aliyuncs.com", API_KEY)
    assert API_KEY not in str(info.value)


def echoing_server_steps(API_KEY: str) -> list:
    """Responses that echo the key back, as a careless proxy or gateway might."""
    return [
        httpx.Response(
            401,
            json={
                "request_id": "r",
                "code": "InvalidApiKey",
                "message": f"Invalid API-key provided: {API_KEY}",
            },
        ),
        httpx.Response(400, json={"error": {"code": "bad", "message": f"Authorization: Bearer {API_KEY}"}}),
        httpx.Response(502, text=f"<html>upstream rejected key {API_KEY}</html>"),
        httpx.Response(200, text=f"not json {API_KEY}"),
        httpx.ReadTimeout(f"timeout talking with Bearer {API_KEY}"),
        httpx.ConnectError(f"cannot connect {API_KEY}"),
    ]


KEYS = [API_KEY, "plainKEYwithoutPrefix0123456789"]


@pytest.mark.parametrize(("key", "step"), [(k, s) for k in KEYS for s in echoing_server_steps(k)])
def test_key_absent_from_every_exception(
    key: str, step, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    API_KEY = key  # noqa: N806
    server = ScriptedServer().script(step)
    caplog.set_level(logging.DEBUG)
    with DashScopeClient(BASE, API_KEY, transport=httpx.MockTransport(server.handler), clock=clock) as c:
        for call in (
            lambda: c.get_fine_tune("ft-1"),
            lambda: c.create_fine_tune(FineTuneCreate(model="m", training_file_ids=["f"])),
        ):
            with pytest.raises(ProviderError) as info:
                call()
            exc = info.value
            texts = [str(exc), repr(exc), exc.message, *map(str, exc.args)]
            cause = getattr(exc, "cause", None)
            if cause is not None:
                texts += [str(cause), repr(cause)]
            for text in texts:
                assert API_KEY not in text, text
    assert API_KEY not in caplog.text


def test_redact_patterns() -> None:
    assert redact("Bearer abc.def-123") == "Bearer ***"
    assert redact("key sk-abcdef123456 used") == "key sk-*** used"
    assert redact("literal SECRETVALUE here", "SECRETVALUE") == "literal *** here"


def test_error_str_is_useful_without_the_key(server: ScriptedServer, client: DashScopeClient) -> None:
    client._retry = NO_RETRIES
    server.script(err(404, "NotFound", "Not found.", request_id="eb619064"))
    with pytest.raises(ProviderError) as info:
        client.get_deployment("d")
    assert (
        str(info.value)
        == "dashscope get_deployment: Not found. (HTTP 404, code NotFound, request_id eb619064)"
    )


def test_short_sandbox_keys_do_not_mangle_messages() -> None:
    assert redact("a test message", "test") == "a test message"


def test_a_log_tail_that_quotes_the_key_is_scrubbed() -> None:
    """The failure explanation reads the job's logs; a line that echoes the key must not carry it on."""
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        logs = ["INFO - start", f"ERROR - auth header was Bearer {API_KEY}", "INFO - finetune-job failed"]
        if request.url.params.get("line") == "1":
            return httpx.Response(200, json={"request_id": "r", "output": {"total": 3, "logs": logs[:1]}})
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"request_id": "r", "output": {"total": 3, "logs": logs[offset:]}})

    with DashScopeClient(BASE, API_KEY, transport=httpx.MockTransport(handler), clock=FakeClock()) as c:
        tail = c.fine_tune_log_tail("ft-1", lines=2)
    assert seen == [{"offset": "0", "line": "1"}, {"offset": "1", "line": "2"}]  # the total, then the tail
    assert len(tail) == 2 and tail[-1] == "INFO - finetune-job failed"
    assert API_KEY not in " ".join(tail) and "auth header was Bearer" in tail[0]
