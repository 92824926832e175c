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
import zipfile
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
