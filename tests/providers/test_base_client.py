"""The base every provider client specialises: credentials, the API root, transport errors.

Each client is built the same way here; what is checked is what the base promises: an endpoint
pasted with its API root still reaches the right paths, the credentials go on every request and
nowhere else (no repr, no error text), and an empty credential is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from reconciler.providers.base_client import ProviderClient
from reconciler.providers.dashscope import DashScopeClient
from reconciler.providers.errors import TransportError
from reconciler.providers.http import NO_RETRIES
from reconciler.providers.imgopen import ImgOpenClient
from reconciler.providers.wavespeed import WaveSpeedClient

SECRET = "sk-very-secret-0123456789"

Build = Callable[[str, httpx.BaseTransport], ProviderClient]
CLIENTS: dict[str, tuple[Build, str]] = {
    "dashscope": (lambda url, t: DashScopeClient(url, SECRET, transport=t), "/api/v1"),
    "wavespeed": (lambda url, t: WaveSpeedClient(url, SECRET, transport=t), "/api/v3"),
    "imgopen": (lambda url, t: ImgOpenClient(url, "id-" + SECRET, SECRET, transport=t), "/AIGCImgOpenServ"),
}


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_the_api_root_in_an_endpoint_is_stripped_and_secrets_stay_in_headers(name: str) -> None:
    build, root = CLIENTS[name]
    seen: list[httpx.Request] = []

    def broken(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadError(f"connection reset while sending {request.headers}")

    client = build(f"https://api.example.com{root}/", httpx.MockTransport(broken))
    assert client.base_url == "https://api.example.com"
    assert SECRET not in repr(client) and SECRET not in repr(vars(client))
    client._retry = NO_RETRIES
    with pytest.raises(TransportError) as caught:
        client._request("GET", f"{root}/x", operation="probe")
    assert SECRET not in str(caught.value)  # the httpx message quoted the headers: scrubbed
    assert any(SECRET in v for v in seen[0].headers.values())  # it was sent, as a header


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_an_empty_credential_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match="is empty; set the environment variable the Provider names"):
        if name == "imgopen":
            ImgOpenClient("https://api.example.com", "id", " ")
        elif name == "dashscope":
            DashScopeClient("https://api.example.com", "")
        else:
            WaveSpeedClient("https://api.example.com", "")
