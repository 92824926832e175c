"""What a load learned about each folder dataset, kept small for apply's pre-upload re-check.

Why this exists: apply checks every dataset again just before its upload (`content_digest`), and
that re-check used to read the whole content cache file back (~6 MB of entries at 1,000 datasets,
alive to the end of the apply) to compare one folder's StatKeys. A `Voucher` keeps, per folder the
load saw, only what that comparison needs: a digest of the names and packed StatKeys, the time the
entry was scanned and the content digest. A re-check that finds the same names and StatKeys, none
of them racily clean (the content cache's own rule, `RACY_NS`), gets the digest without the cache;
anything else — a change, a racy file, a folder the load did not see — is not vouched for, and
the caller re-checks through the content cache as before.

The scan taken by a vouched re-check is handed to the upload (`take_scan`): the zip lists exactly
the files whose digest was just checked, without listing the folder again. With `keep_reads`, the
bytes a cold load read (`DirectorySource.retained`) stay here until that folder's upload takes
them; they are used only when the re-check vouched for the folder, i.e. every file has the StatKey
it had when those bytes were read and hashed.

What it must not do: vouch for anything the content cache would not (same names, same StatKeys,
not racy), or keep a folder's bytes after its upload took them.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from typing import NamedTuple

from reconciler.datasets.content_cache import RACY_NS, ContentCache
from reconciler.datasets.errors import DatasetError
from reconciler.datasets.scanning import FolderKeys, ScannedFile, scan_folder_keys


class Voucher(NamedTuple):
    listing: bytes  # listing_digest(names, packed StatKeys)
    scanned_ns: int  # when the entry's files were stat'ed (the racy rule compares with it)
    digest: str  # the content digest


class Verified(NamedTuple):
    """A vouched re-check: the digest, the scan it compared, and the bytes kept for its files."""

    digest: str
    files: list[ScannedFile]
    retained: dict[str, bytes]  # name -> the bytes read when its StatKey was the one in `files`


def listing_digest(names: str, packed: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    h.update(names.encode("utf-8", "surrogatepass"))
    h.update(b"\0\0")  # no name holds a NUL: nothing can move across the boundary
    h.update(packed)
    return h.digest()


class Vouchers:
    """Vouchers by the content cache's key (an absolute folder path). Thread-safe."""

    def __init__(
        self, vouchers: dict[str, Voucher], retained: dict[str, dict[str, bytes]] | None = None
    ) -> None:
        self._vouchers = vouchers
        self._retained = retained or {}
        self._scans: dict[str, Verified] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vouchers)

    def verify(self, key: str) -> str | None:
        """The content digest of folder `key` when its scan now matches its voucher, else None.

        A vouched scan is kept (with the bytes kept for it) for the upload of that folder.
        """
        with self._lock:
            self._scans.pop(key, None)  # an earlier re-check's scan is never handed to this upload
        voucher = self._vouchers.get(key)
        if voucher is None:
            return None
        try:
            scan: FolderKeys = scan_folder_keys(key)
        except (OSError, DatasetError):  # gone, a link inside, not a folder: the full re-check says why
            return None
        if scan.newest >= voucher.scanned_ns - RACY_NS:
            return None  # racily clean: the content cache's rule says read it again
        if listing_digest(scan.names, scan.packed) != voucher.listing:
            return None
        with self._lock:
            self._scans[key] = Verified(voucher.digest, scan.files, self._retained.pop(key, {}))
        return voucher.digest

    def take_scan(self, source_path: str) -> Verified | None:
        """The vouched re-check of `source_path` (once), or None."""
        with self._lock:
            return self._scans.pop(source_path, None)

    def keep_bytes_of(self, keys: Iterable[str]) -> None:
        """Drop the bytes kept for any folder but `keys` (the ones this apply uploads)."""
        wanted = set(keys)
        with self._lock:
            for key in [k for k in self._retained if k not in wanted]:
                del self._retained[key]

    def retained_folders(self) -> list[str]:
        with self._lock:
            return sorted(self._retained)


def vouchers_of(cache: ContentCache) -> Vouchers:
    """Vouchers for the folders `cache`'s run looked up, with the bytes its load kept (`keep_reads`)."""
    found = {
        key: Voucher(listing_digest(entry.names, entry.keys), entry.scanned_ns, entry.digest)
        for key, entry in cache.seen_entries().items()
        if not entry.is_zip
    }
    retained, cache.retained = cache.retained, {}
    cache.retained_pool = {}
    return Vouchers(found, {k: v for k, v in retained.items() if k in found})


# The vouchers of the apply running in this process (set by the workspace), asked by the upload.
_current: Vouchers | None = None
_current_lock = threading.Lock()


def install(vouchers: Vouchers | None) -> None:
    global _current
    with _current_lock:
        _current = vouchers


def take_verified(source_path: str) -> Verified | None:
    """What the pre-upload re-check of `source_path` vouched for in this process, or None."""
    current = _current
    return current.take_scan(os.fspath(source_path)) if current is not None else None
