"""The state directory's cache files: sealed, versioned, replaced atomically.

Why this exists: the dataset content cache and the manifest parse cache live beside the state
(`<root>/.reconciler/`) and have the same needs. A reader — a concurrent plan included — must
see a whole old file or a whole new one, never a torn one: a file is written to a temporary name
and renamed over the old. A file that is missing, torn, damaged, written by other code (another
format, Python or rule version: `fingerprint`) or undecodable reads as "no cache": the caller
computes again, it never fails. The payload is `marshal` (plain data only; it never runs code)
behind a magic line and its sha256.

What it must not do: decide what a cache holds, or raise for anything found on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import threading
from pathlib import Path
from typing import Any

_DIGEST = 32


def read_sealed(path: Path, magic: bytes, fingerprint: str) -> tuple[Any, str | None]:
    """(payload, None), or (None, why the file was not used); (None, None) when there is no file."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"unreadable: {error}"
    head = len(magic)
    if not blob.startswith(magic) or len(blob) < head + _DIGEST:
        return None, "not a cache file of this format"
    view = memoryview(blob)  # no copy of the payload (megabytes) to check and decode it
    digest, payload = view[head : head + _DIGEST], view[head + _DIGEST :]
    if hashlib.sha256(payload).digest() != digest:
        return None, "checksum mismatch"
    try:
        written_by, content = marshal.loads(payload)
    except Exception as error:  # anything undecodable is a miss, never a crash
        return None, f"undecodable: {type(error).__name__}"
    if written_by != fingerprint:
        return None, "written by other code"
    return content, None


def write_sealed(path: Path, magic: bytes, fingerprint: str, content: Any) -> bool:
    """Replace `path` atomically; False when it cannot be written (read-only checkout, full disk)."""
    payload = marshal.dumps((fingerprint, content))
    blob = magic + hashlib.sha256(payload).digest() + payload
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True
