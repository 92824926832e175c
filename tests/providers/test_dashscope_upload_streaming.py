"""The upload is streamed: bounded reads, bounded chunks, Content-Length known up front."""

from __future__ import annotations

import io
import os

import httpx
import seed_examples as seed
from dashscope_fakes import API_KEY, BASE

from reconciler.clock import FakeClock
from reconciler.providers.dashscope import DashScopeClient

SIZE = 8 * 1024 * 1024 + 123  # 8 MiB and change: 129 chunks of 64 KiB


class DrainingTransport(httpx.BaseTransport):
    """Consumes the request body chunk by chunk (as a socket would) and keeps only statistics."""

    def __init__(self) -> None:
        self.content_length: int | None = None
        self.received = 0
        self.largest_chunk = 0
        self.chunks = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.content_length = int(request.headers["content-length"])
        for chunk in request.stream:  # type: ignore[union-attr]
            self.chunks += 1
            self.received += len(chunk)
            self.largest_chunk = max(self.largest_chunk, len(chunk))
        return httpx.Response(200, json={**seed.UPLOAD_FILE, "bytes": SIZE})


class ReadSpy(io.FileIO):
    """A real file whose reads are recorded."""

    reads: list[int]

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        self.reads.append(size)
        return super().read(size)


def make_file(tmp_path) -> str:
    path = tmp_path / "big.zip"
    with path.open("wb") as fh:
        fh.truncate(SIZE)  # sparse: cheap to create
    return os.fspath(path)


def test_upload_streams_in_bounded_chunks(tmp_path) -> None:
    path = make_file(tmp_path)
    transport = DrainingTransport()
    with DashScopeClient(BASE, API_KEY, transport=transport, clock=FakeClock()) as c:
        f = c.upload_file(path, filename="big.zip")
    assert f.bytes == SIZE
    assert transport.received == transport.content_length  # length computed without reading the file
    assert transport.received > SIZE
    assert transport.largest_chunk <= 64 * 1024
    assert transport.chunks > SIZE // (64 * 1024)


def test_file_object_is_never_read_whole(tmp_path) -> None:
    path = make_file(tmp_path)
    spy = ReadSpy(path, "rb")
    spy.reads = []
    transport = DrainingTransport()
    with spy, DashScopeClient(BASE, API_KEY, transport=transport, clock=FakeClock()) as c:
        c.upload_file(spy, filename="big.zip")
    assert spy.reads and all(0 < n <= 64 * 1024 for n in spy.reads)  # never read(-1)
    assert transport.received == transport.content_length
