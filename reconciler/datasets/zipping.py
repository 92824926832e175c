"""Deterministic zips: the same files always give byte-identical archives.

Why: a folder dataset is zipped before upload, and re-zipping unchanged content must not look
like a change (nor upload a different file). Entries are sorted, timestamps fixed at
1980-01-01 00:00, permissions fixed at 0644, no directory entries, a fixed compression level.
Images and videos are already compressed: they are stored, not deflated again (deflate won
nothing on them and was most of an upload's CPU); text (data.jsonl, captions) is deflated.
What it must not do: include hidden files (see `sources.is_ignored`) or read whole files into memory.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from reconciler.datasets.sources import DirectorySource

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
COMPRESS_LEVEL = 6
STORED_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".mp4", ".mov", ".webm", ".avi", ".mkv"}
)


def write_deterministic_zip(
    directory: str | Path, fileobj: BinaryIO, source: DirectorySource | None = None
) -> list[str]:
    """Write `directory`'s dataset files to `fileobj` as a zip; returns the entry names.

    `source`: the folder already listed (`DirectorySource(directory)`), not listed again."""
    source = source if source is not None else DirectorySource(Path(directory))
    names = source.names()
    if _direct_fits(source, names, fileobj):
        _write_direct(source, names, fileobj)
        return names
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as zf:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            stored = PurePosixPath(name).suffix.lower() in STORED_SUFFIXES
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr means the same everywhere
            info.external_attr = FILE_MODE << 16
            size = source.size(name)
            info.file_size = size
            with source.open(name) as src, zf.open(info, "w", force_zip64=size > zipfile.ZIP64_LIMIT) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return names


# The direct writer below produces the bytes `zipfile` writes for the archive above (checked
# byte for byte in tests/datasets/test_zipping_direct.py), without zipfile's per-entry Python
# machinery (a header written, sought back to and written again; ~20 us an entry, most of a
# small dataset's zip). It takes only what needs none of zipfile's special cases: a seekable
# output (zipfile writes data descriptors otherwise), files of at most `DIRECT_MAX_FILE_BYTES`
# (an entry is compressed in memory before its header is written; nowhere near ZIP64), and
# fewer entries than ZIP64 would need. Everything else goes through zipfile as before.
DIRECT_MAX_FILE_BYTES = 1 << 20
_CHUNK = 1 << 20  # what shutil.copyfileobj is given above: the same compress() calls, the same bytes
_VERSION = 20  # zipfile's DEFAULT_VERSION: what it records for stored and deflated entries alike
_DOS_DATE = (FIXED_DATE[0] - 1980) << 9 | FIXED_DATE[1] << 5 | FIXED_DATE[2]
_DOS_TIME = FIXED_DATE[3] << 11 | FIXED_DATE[4] << 5 | (FIXED_DATE[5] // 2)
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile.structCentralDir
_END = struct.Struct("<4s4H2LH")  # zipfile.structEndArchive
_UTF8_NAME = 0x800


def _direct_fits(source: DirectorySource, names: list[str], fileobj: BinaryIO) -> bool:
    if len(names) >= zipfile.ZIP_FILECOUNT_LIMIT or any("\x00" in n for n in names):
        return False
    if any(source.size(n) > DIRECT_MAX_FILE_BYTES for n in names):
        return False
    try:
        fileobj.seek(fileobj.tell())  # how zipfile decides that the output is seekable
    except (AttributeError, OSError):
        return False
    return True


def _write_direct(source: DirectorySource, names: list[str], fileobj: BinaryIO) -> None:
    start = fileobj.tell()
    offset = start
    central: list[bytes] = []
    write = fileobj.write
    for name in names:
        stored = PurePosixPath(name).suffix.lower() in STORED_SUFFIXES
        method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        compressor = None if stored else zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        crc = size = 0
        parts: list[bytes] = []
        whole = source.read_small(name)  # one read, or the bytes read already (vouched unchanged)
        if whole is not None and len(whole) <= _CHUNK:  # what the loop below would do in one chunk
            size, crc = len(whole), zlib.crc32(whole)
            parts.append(whole if compressor is None else compressor.compress(whole))
        else:
            with source.open(name) as src:
                while chunk := src.read(_CHUNK):
                    size += len(chunk)
                    crc = zlib.crc32(chunk, crc)
                    parts.append(chunk if compressor is None else compressor.compress(chunk))
        if compressor is not None:
            parts.append(compressor.flush())
        data = b"".join(parts)
        if (
            size > zipfile.ZIP64_LIMIT / 1.05 or offset > zipfile.ZIP64_LIMIT
        ):  # pragma: no cover - sizes checked
            raise AssertionError("the direct zip writer was given an archive that needs ZIP64")
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_NAME
        write(
            _LOCAL.pack(
                b"PK\003\004",
                _VERSION,
                0,
                flags,
                method,
                _DOS_TIME,
                _DOS_DATE,
                crc,
                len(data),
                size,
                len(encoded),
                0,
            )
        )
        write(encoded)
        write(data)
        central.append(
            _CENTRAL.pack(
                b"PK\001\002",
                _VERSION,
                3,
                _VERSION,
                0,
                flags,
                method,
                _DOS_TIME,
                _DOS_DATE,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                FILE_MODE << 16,
                offset,
            )
            + encoded
        )
        offset += _LOCAL.size + len(encoded) + len(data)
    directory = b"".join(central)
    write(directory)
    write(_END.pack(b"PK\005\006", 0, 0, len(names), len(names), len(directory), offset, 0))
    fileobj.flush()
