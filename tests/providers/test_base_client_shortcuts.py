"""`ProviderClient`'s two shortcuts on httpx's request path change nothing a server can see:
a path joined to the base URL is the URL httpx would have merged, and cookies a server sets are
still kept and sent back."""

from __future__ import annotations

import httpx
import pytest

from reconciler.providers.dashscope.client import DashScopeClient

PATHS = [
    "/api/v1/fine-tunes/ft-1",
    "/api/v1/fine-tunes/a%20b",
    "/api/v1/deployments/wan2.5-i2v-preview-ft-1:c600",
    "/api/v1/files/x@y",
    "/compatible-mode/v1/files/caf\u00e9",
    "/api/v1/a%2Fb/c",
]


@pytest.mark.parametrize("base", ["http://127.0.0.1:8000", "https://example.com/prefix", "https://h.example"])
@pytest.mark.parametrize("path", PATHS)
def test_a_joined_path_is_the_url_httpx_merges(base: str, path: str) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={})

    client = DashScopeClient(base, "sk-test", transport=httpx.MockTransport(handler))
    client._request("GET", path, operation="t", params={"page_no": 2})
    reference = httpx.Client(base_url=client.base_url).build_request("GET", path, params={"page_no": 2})
    assert seen == [reference.url]
    assert str(seen[0]) == str(reference.url)


def test_cookies_a_server_sets_are_kept_and_sent_back() -> None:
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        if len(sent) == 1:
            return httpx.Response(200, json={}, headers={"Set-Cookie": "acw_tc=abc; Path=/"})
        return httpx.Response(200, json={})

    client = DashScopeClient("http://127.0.0.1:8000", "sk-test", transport=httpx.MockTransport(handler))
    for _ in range(3):
        client._request("GET", "/api/v1/fine-tunes", operation="t")
    assert sent == [None, "acw_tc=abc", "acw_tc=abc"]
    assert client._http.cookies.get("acw_tc") == "abc"


def test_a_response_is_freed_without_the_cyclic_collector() -> None:
    """A plan pauses the cyclic collector (`cli/collector.py`): a response left in a reference
    cycle with its stream would keep its body until the process ends."""
    import gc
    import weakref

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"output": {"x": 1}})

    client = DashScopeClient("http://127.0.0.1:8000", "sk-test", transport=httpx.MockTransport(handler))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        response = client._request("GET", "/api/v1/fine-tunes", operation="t")
        assert response.json() == {"output": {"x": 1}}  # the body is still there for its reader
        assert response.content == b'{"output":{"x":1}}'
        gone = weakref.ref(response)
        del response
        assert gone() is None  # freed by its reference count alone
    finally:
        if was_enabled:
            gc.enable()
