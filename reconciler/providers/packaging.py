"""Turning a local dataset into one uploadable zip, without holding it in memory.

A `.zip` source is uploaded as is; a directory is zipped deterministically into a temporary
file first (same content → byte-identical zip), so the upload streams from disk either way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from reconciler.datasets.zipping import write_deterministic_zip


def upload_name(resource_name: str, content_digest: str) -> str:
    """The uploaded file name carries the content hash: it is how we find the file again."""
    hexdigest = content_digest.split(":", 1)[-1]
    return f"{resource_name}-{hexdigest[:16]}.zip"


@contextlib.contextmanager
def zipped(source_path: str) -> Iterator[Path]:
    path = Path(source_path)
    if path.is_file():
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix="reconciler-dataset-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as out:
            write_deterministic_zip(path, out)
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
