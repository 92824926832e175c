"""Recognise images and videos by their first bytes, not by their file name.

Why: a provider rejects a `.png` that is really a GIF only after upload and a queue wait;
sniffing the magic bytes catches it locally. Image dimensions are read from the header only.
"""

from __future__ import annotations

import struct

IMAGE_FORMATS = frozenset({"png", "jpeg", "bmp", "webp", "gif", "tiff"})
VIDEO_FORMATS = frozenset({"mp4", "mov", "webm", "avi", "mkv"})

IMAGE_EXTENSIONS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".bmp": "bmp", ".webp": "webp"}
VIDEO_EXTENSIONS = {".mp4": "mp4", ".mov": "mov"}

_MOV_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def sniff(head: bytes) -> str | None:
    """The container/image format of a file from its first bytes, or None when unknown."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"BM") and len(head) >= 26:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in _MOV_ATOMS:
        return "mov"
    return None


def describe(fmt: str | None) -> str:
    if fmt is None:
        return "an unrecognised file"
    kind = "image" if fmt in IMAGE_FORMATS else "video"
    article = "an" if fmt in ("avi", "mp4", "mkv") else "a"  # spoken: "an A-V-I", "an M-P-4"
    return f"{article} {fmt.upper()} {kind}"


def image_size(head: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) from the header bytes, or None when it is not in `head`."""
    try:
        if fmt == "png" and len(head) >= 24:
            w, h = struct.unpack(">II", head[16:24])
            return w, h
        if fmt == "bmp" and len(head) >= 26:
            w, h = struct.unpack("<ii", head[18:26])
            return abs(w), abs(h)
        if fmt == "webp":
            return _webp_size(head)
        if fmt == "jpeg":
            return _jpeg_size(head)
    except struct.error:
        return None
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25:
        b = head[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    if chunk == b"VP8X" and len(head) >= 30:
        w = 1 + int.from_bytes(head[24:27], "little")
        h = 1 + int.from_bytes(head[27:30], "little")
        return w, h
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", head[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", head[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None
