"""A folder dataset is uploaded from memory when small and from a temporary file when large: the
provider must receive the same bytes either way (the deterministic zip), retries included."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest

from reconciler.datasets.zipping import write_deterministic_zip
from reconciler.providers import packaging
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.http import RetryPolicy
from reconciler.providers.packaging import upload_source

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "manifests" / "quickstart" / "data" / "money-rain"


def _expected() -> bytes:
    out = io.BytesIO()
    write_deterministic_zip(DATA, out)
    return out.getvalue()


def _uploaded_body(monkeypatch: pytest.MonkeyPatch, limit: int, fail_first: bool = False) -> bytes:
    monkeypatch.setattr(packaging, "IN_MEMORY_ZIP_BYTES", limit)
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        if fail_first and len(bodies) == 1:
            return httpx.Response(503, json={"code": "ServiceUnavailable", "message": "busy"})
        return httpx.Response(200, json={"id": "file-1", "object": "file", "bytes": 1, "filename": "a.zip"})

    client = DashScopeClient(
        "http://127.0.0.1:9",
        "sk-test",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(initial_backoff=0),
    )
    with upload_source(str(DATA)) as source:
        assert isinstance(source, Path) is (limit == 0)
        client.upload_file(source, filename="d.zip")
    assert len(bodies) == (2 if fail_first else 1)
    assert len({_zip_in(b) for b in bodies}) == 1  # a retry sends the same zip again (a new boundary)
    return bodies[-1]


def _zip_in(body: bytes) -> bytes:
    start = body.index(b"PK\x03\x04")
    end = body.rindex(b"PK\x05\x06") + 22
    return body[start:end]


@pytest.mark.parametrize("fail_first", [False, True])
def test_memory_and_disk_uploads_send_the_same_zip(monkeypatch: pytest.MonkeyPatch, fail_first: bool) -> None:
    in_memory = _uploaded_body(monkeypatch, 8 << 20, fail_first)
    on_disk = _uploaded_body(monkeypatch, 0, fail_first)
    assert _zip_in(in_memory) == _zip_in(on_disk) == _expected()
    with zipfile.ZipFile(io.BytesIO(_zip_in(in_memory))) as zf:
        assert zf.testzip() is None
