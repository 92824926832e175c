"""A streaming multipart/form-data parser, so a 1 GB dataset upload never sits in memory.

The standard library's parsers (`email`, the removed `cgi`) buffer whole bodies. This one reads
fixed-size chunks and hands file parts to a sink chunk by chunk; a sink may raise to abort (a
size limit). Plain fields are small and collected as text. It knows nothing about any API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

CHUNK = 1 << 16
MAX_HEADER_BYTES = 16 * 1024
MAX_FIELD_BYTES = 1 << 20


class MultipartError(ValueError):
    pass


class Reader(Protocol):
    def read(self, n: int = -1) -> bytes: ...


class Sink(Protocol):
    def write(self, data: bytes) -> object: ...


@dataclass
class PartHeaders:
    name: str
    filename: str | None
    content_type: str | None


def boundary_of(content_type: str | None) -> bytes:
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError("Content-Type must be multipart/form-data")
    m = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if not m:
        raise MultipartError("multipart/form-data without a boundary")
    return m.group(1).encode("latin-1")


def _parse_part_headers(raw: bytes) -> PartHeaders:
    name: str | None = None
    filename: str | None = None
    content_type: str | None = None
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "content-disposition":
            for m in re.finditer(r'(\w+\*?)=(?:"((?:[^"\\]|\\.)*)"|([^;]*))', value):
                attr = m.group(1).lower()
                val = m.group(2) if m.group(2) is not None else (m.group(3) or "").strip()
                if attr == "name":
                    name = val
                elif attr == "filename":
                    filename = val.replace('\\"', '"')
        elif key == "content-type":
            content_type = value.strip()
    if name is None:
        raise MultipartError("a multipart part without a name")
    return PartHeaders(name=name, filename=filename, content_type=content_type)


class _FieldSink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data.extend(data)
        if len(self.data) > MAX_FIELD_BYTES:
            raise MultipartError("a form field is too large")


def parse(
    reader: Reader,
    boundary: bytes,
    open_file: Callable[[PartHeaders], Sink],
    close_file: Callable[[PartHeaders, Sink], None],
) -> list[tuple[str, str]]:
    """Stream `reader`; file parts go to sinks from `open_file`; returns the plain (name, value) fields."""
    dash = b"--" + boundary
    sep = b"\r\n" + dash
    buf = bytearray()
    eof = False
    fields: list[tuple[str, str]] = []

    def fill() -> None:
        nonlocal eof
        chunk = reader.read(CHUNK)
        if chunk:
            buf.extend(chunk)
        else:
            eof = True

    # Preamble: skip to the first boundary.
    while True:
        i = buf.find(dash)
        if i >= 0:
            del buf[: i + len(dash)]
            break
        if eof:
            raise MultipartError("no multipart boundary found in the body")
        if len(buf) > len(dash):
            del buf[: len(buf) - len(dash)]
        fill()

    while True:
        while len(buf) < 2 and not eof:
            fill()
        if buf[:2] == b"--":
            return fields
        if buf[:2] != b"\r\n":
            raise MultipartError("malformed multipart boundary line")
        del buf[:2]
        while (j := buf.find(b"\r\n\r\n")) < 0:
            if eof or len(buf) > MAX_HEADER_BYTES:
                raise MultipartError("malformed multipart part headers")
            fill()
        headers = _parse_part_headers(bytes(buf[:j]))
        del buf[: j + 4]
        sink: Sink = open_file(headers) if headers.filename is not None else _FieldSink()
        keep = len(sep) - 1
        while True:
            k = buf.find(sep)
            if k >= 0:
                sink.write(bytes(buf[:k]))
                del buf[: k + len(sep)]
                break
            if eof:
                raise MultipartError("multipart body ended before its closing boundary")
            if len(buf) > keep:
                sink.write(bytes(buf[:-keep]))
                del buf[:-keep]
            fill()
        if isinstance(sink, _FieldSink):
            fields.append((headers.name, sink.data.decode("utf-8", "replace")))
        else:
            close_file(headers, sink)
