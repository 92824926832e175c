"""Shared HTTP plumbing: base-URL policy, Retry-After parsing, transport exception mapping, regions."""

from __future__ import annotations

import random

import httpx
import pytest

from reconciler.providers.dashscope import region_base_url, resolve_endpoint, workspace_gateway_url
from reconciler.providers.errors import ConfigurationError, TransportError
from reconciler.providers.http import (
    RetryPolicy,
    check_base_url,
    map_transport_errors,
    parse_retry_after,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://dashscope-intl.aliyuncs.com",
        "https://llm-abc.ap-southeast-1.maas.aliyuncs.com",
        "http://127.0.0.1:8765",
        "http://127.5.6.7",
        "http://localhost:9000",
        "http://[::1]:8765",
    ],
)
def test_allowed_base_urls(url: str) -> None:
    assert check_base_url(url).host


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://dashscope-intl.aliyuncs.com", "refusing clear-text"),
        ("http://10.0.0.5:8765", "refusing clear-text"),
        ("http://0.0.0.0:8765", "refusing clear-text"),
        ("http://localhost.evil.com", "refusing clear-text"),
        ("ftp://127.0.0.1", "invalid base URL"),
        ("dashscope-intl.aliyuncs.com", "invalid base URL"),
        ("https://dashscope.aliyuncs.com?x=1", "no query string"),
    ],
)
def test_refused_base_urls(url: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        check_base_url(url)


def test_retry_after_parsing() -> None:
    now = 1_000_000.0
    assert parse_retry_after({"retry-after": "5"}, now) == 5.0
    assert parse_retry_after({"retry-after": "2.5"}, now) == 2.5
    assert parse_retry_after({"retry-after": "-3"}, now) == 0.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}, now) == 0.25
    assert parse_retry_after({"retry-after": "Thu, 01 Jan 1970 00:00:00 GMT"}, now) == 0.0
    assert parse_retry_after({"retry-after": "Mon, 12 Jan 1970 13:46:50 GMT"}, now) == 10.0
    assert parse_retry_after({"retry-after": "soon"}, now) is None
    assert parse_retry_after({}, now) is None


def test_delay_caps_retry_after_and_backoff() -> None:
    p = RetryPolicy(max_retry_after=60.0, max_backoff=8.0, jitter=0.0, rng=random.Random(0))
    assert p.delay(1, 600.0) == 60.0
    assert p.delay(1, 3.0) == 3.0
    assert [p.delay(n, None) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("exc", "maybe_committed"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("t"), False),
        (httpx.PoolTimeout("t"), False),
        (httpx.UnsupportedProtocol("x"), False),
        (httpx.ReadTimeout("t"), True),
        (httpx.WriteTimeout("t"), True),
        (httpx.ReadError("reset"), True),
        (httpx.WriteError("broken pipe"), True),
        (httpx.RemoteProtocolError("disconnected"), True),
    ],
)
def test_transport_exception_mapping(exc: Exception, maybe_committed: bool) -> None:
    with pytest.raises(TransportError) as info, map_transport_errors(provider="p", operation="op"):
        raise exc
    assert info.value.maybe_committed is maybe_committed
    assert info.value.__cause__ is exc
    assert info.value.retryable
    assert (info.value.provider, info.value.operation) == ("p", "op")


def test_non_transport_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), map_transport_errors(provider="p", operation="op"):
        raise KeyError("x")


def test_regions() -> None:
    assert region_base_url("ap-southeast-1") == "https://dashscope-intl.aliyuncs.com"
    assert region_base_url("intl") == "https://dashscope-intl.aliyuncs.com"
    assert region_base_url("cn-beijing") == "https://dashscope.aliyuncs.com"
    assert region_base_url("cn-hongkong") == "https://cn-hongkong.dashscope.aliyuncs.com"
    assert resolve_endpoint("http://127.0.0.1:8765") == "http://127.0.0.1:8765"
    assert resolve_endpoint("singapore") == "https://dashscope-intl.aliyuncs.com"
    assert (
        workspace_gateway_url("llm-abc123", "cn-beijing") == "https://llm-abc123.cn-beijing.maas.aliyuncs.com"
    )
    with pytest.raises(ConfigurationError, match="unknown DashScope region 'mars'"):
        region_base_url("mars")
    with pytest.raises(ConfigurationError, match="invalid DashScope workspace id"):
        workspace_gateway_url("evil.com/x", "intl")
