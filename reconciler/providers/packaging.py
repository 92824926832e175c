"""Turning a local dataset into one uploadable zip, without holding it in memory.

A `.zip` source is uploaded as is; a directory is zipped deterministically into a temporary
file first (same content → byte-identical zip), so the upload streams from disk either way.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from reconciler.datasets.sources import DirectorySource
from reconciler.datasets.vouchers import take_verified
from reconciler.datasets.zipping import write_deterministic_zip

# A folder whose files add up to no more than this is zipped in memory for its upload.
IN_MEMORY_ZIP_BYTES = 8 * 1024 * 1024


def upload_name(resource_name: str, content_digest: str) -> str:
    """The uploaded file name carries the content hash: it is how we find the file again."""
    hexdigest = content_digest.split(":", 1)[-1]
    return f"{resource_name}-{hexdigest[:16]}.zip"


@contextlib.contextmanager
def zipped(source_path: str, source: DirectorySource | None = None) -> Iterator[Path]:
    path = Path(source_path)
    if source is None:
        source = _verified_source(source_path)
    if source is None and path.is_file():
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix="reconciler-dataset-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as out:
            write_deterministic_zip(path, out, source)
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


@contextlib.contextmanager
def upload_source(source_path: str) -> Iterator[Path | BinaryIO]:
    """What to upload for a dataset: a `.zip` as it is; a small folder (≤ `IN_MEMORY_ZIP_BYTES` of
    files) zipped into memory; a larger one into a temporary file, as `zipped` does.

    Why: a temporary file to create, write, reopen, stream from and delete cost more than the zip
    itself for a folder of small files. The bytes are the same either way (one deterministic zip),
    and the stream is seekable, so a retried upload sends them again.
    """
    path = Path(source_path)
    source = _verified_source(source_path)
    if source is None:
        if path.is_file():
            yield path
            return
        source = DirectorySource(path)
    if sum(source.size(name) for name in source.names()) > IN_MEMORY_ZIP_BYTES:
        with zipped(source_path, source) as on_disk:
            yield on_disk
        return
    buffer = io.BytesIO()
    write_deterministic_zip(path, buffer, source)
    buffer.seek(0)
    yield buffer


def _verified_source(source_path: str) -> DirectorySource | None:
    """The folder as apply's re-check just listed it, with what a cold load read of it (the same
    StatKeys, none racily clean: the same bytes), or None. The zip is the one a fresh read makes."""
    verified = take_verified(source_path)
    if verified is None:
        return None
    source = DirectorySource(Path(source_path), verified.files)
    source.preread = verified.retained
    return source
