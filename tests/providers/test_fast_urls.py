"""`UrlJoiner` builds the URL httpx would have parsed, or hands httpx the string to parse."""

from __future__ import annotations

import random

import httpx
import pytest

from reconciler.providers import fast_urls
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.fast_urls import UrlJoiner

BASES = [
    "http://127.0.0.1:8000",
    "http://localhost",
    "https://dashscope.aliyuncs.com",
    "https://example.com/prefix",
    "https://EXAMPLE.com:443/a/b",
    "http://[::1]:8080",
]
PATHS = [
    "/api/v1/fine-tunes/ft-1",
    "/api/v1/deployments/wan2.5-i2v-preview-ft-1:c600",
    "/api/v1/files/x@y",
    "/api/v1/a=b;c,d!$&'()*+",
    "/api/v1/fine-tunes/a%20b",
    "/api/v1/a%2Fb/c",
    "/compatible-mode/v1/files/caf\u00e9",
    "/api/v1/./x",
    "/api/v1/../x",
    "/api/v1/x/.",
    "/api/v1/.hidden",
    "/api/v1/a b",
    "/api/v1/a?b=c",
    "/api/v1/a#frag",
    "/api/v1/{x}",
    "/",
    "//double",
]


def _same(fast: httpx.URL | str, base: str, path: str) -> None:
    slow = httpx.URL(base + path)
    url = fast if isinstance(fast, httpx.URL) else httpx.URL(fast)
    assert url == slow
    assert str(url) == str(slow)
    assert url.raw_path == slow.raw_path and url.netloc == slow.netloc and url.host == slow.host
    assert url._uri_reference == slow._uri_reference


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("path", PATHS)
def test_a_joined_url_is_the_one_httpx_parses(base: str, path: str) -> None:
    joiner = UrlJoiner(base)
    assert joiner.enabled
    _same(joiner.join(path), base, path)


def test_plain_paths_take_the_fast_way_and_others_do_not() -> None:
    joiner = UrlJoiner("http://127.0.0.1:8000")
    assert isinstance(joiner.join("/api/v1/fine-tunes/ft-1"), httpx.URL)
    for path in ("/api/v1/a%20b", "/api/v1/../x", "/api/v1/caf\u00e9", "/a?b", "/a b"):
        assert joiner.join(path) == "http://127.0.0.1:8000" + path


def test_random_paths_match_httpx() -> None:
    rng = random.Random(7)
    alphabet = "abcXYZ019-._~!$&'()*+,;=:@/%? #\u00e9{}\"<>`|\\^[]"
    joiner = UrlJoiner("https://example.com/p")
    for _ in range(3000):
        path = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        try:
            slow = httpx.URL("https://example.com/p" + path)
        except httpx.InvalidURL:
            continue
        fast = joiner.join(path)
        url = fast if isinstance(fast, httpx.URL) else httpx.URL(fast)
        assert url._uri_reference == slow._uri_reference, path


def test_a_changed_httpx_turns_the_fast_way_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """If httpx parses paths another way, or keeps its parse elsewhere, httpx parses every URL."""
    real = httpx.URL.__init__

    def init(self: httpx.URL, url: object = "", **kwargs: object) -> None:
        real(self, url, **kwargs)  # type: ignore[arg-type]  # the test passes what httpx accepts
        ref = self._uri_reference
        self._uri_reference = ref._replace(path=ref.path.replace("-", "%2D"))

    monkeypatch.setattr(httpx.URL, "__init__", init)
    joiner = UrlJoiner("http://example.com")
    assert not joiner.enabled
    assert joiner.join("/api/v1/x-1") == "http://example.com/api/v1/x-1"
    monkeypatch.setattr(httpx.URL, "__init__", real)
    assert UrlJoiner("http://example.com").enabled

    monkeypatch.delattr(httpx.URL, "_uri_reference", raising=False)

    class Opaque:
        def __init__(self, url: str) -> None:
            self.url = url

    monkeypatch.setattr(fast_urls.httpx, "URL", Opaque)
    joiner = UrlJoiner("http://example.com")
    assert not joiner.enabled
    assert joiner.join("/api/v1/x") == "http://example.com/api/v1/x"


def test_the_client_sends_the_url_and_headers_httpx_would() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    client = DashScopeClient(
        "http://127.0.0.1:8000", "sk-test", workspace="ws-1", transport=httpx.MockTransport(handler)
    )
    client._request("GET", "/api/v1/fine-tunes/ft-1", operation="t")
    client._request("POST", "/api/v1/fine-tunes", operation="t", json={"a": 1})
    client._request("GET", "/api/v1/fine-tunes/ft-2", operation="t", headers={"X-Extra": "1"})
    reference = httpx.Client(
        base_url=client.base_url,
        headers={
            "Accept": "application/json",
            "User-Agent": client.USER_AGENT,
            "X-DashScope-WorkSpace": "ws-1",
        },
    )
    expected = [
        reference.build_request("GET", "/api/v1/fine-tunes/ft-1"),
        reference.build_request("POST", "/api/v1/fine-tunes", json={"a": 1}),
        reference.build_request("GET", "/api/v1/fine-tunes/ft-2", headers={"X-Extra": "1"}),
    ]
    for got, want in zip(seen, expected, strict=True):
        want.headers["Authorization"] = "Bearer sk-test"
        assert got.url == want.url
        assert got.headers.raw == want.headers.raw
        assert got.content == want.content
    # the client's own headers were not changed by any request
    assert "authorization" not in client._http.headers
    assert "x-extra" not in client._http.headers
