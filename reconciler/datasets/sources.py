"""A dataset's files, whether they sit in a directory or in a `.zip`.

Why this exists: hashing, layout checks and zipping all need "the sorted list of files and a way
to stream each one", and must see the *same* list for a folder and for a zip of that folder.
Hidden files (`.DS_Store`, `.git/`…) and macOS `__MACOSX/` entries are not part of a dataset.

What it must not do: read whole files into memory (only an annotations file the hashing pass
was asked to keep), follow a zip entry outside the archive or a symbolic link out of a folder
(a link to a file or a folder is refused, never read through), or know any provider's layout rules.
"""

from __future__ import annotations

import io
import os
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, NamedTuple

from reconciler.datasets.archives import unsafe_entries
from reconciler.datasets.errors import DatasetError
from reconciler.datasets.media import image_size, sniff
from reconciler.datasets.scanning import ScannedFile, scan_folder

CHUNK = 1 << 20
HEAD_BYTES = 65536  # enough for every format's magic bytes and a JPEG's frame header
# Read whole once and kept for the rest of the pass: a provider's annotations file (at most 20 MB,
# or its layout check refuses it), which hashing, sample counting and the layout check all read.
KEEP = frozenset({"data.jsonl"})
MAX_KEPT_BYTES = 20 << 20
# A folder's file of at most this many bytes is read whole by one os.read (no buffered file object,
# no chunk generator): a dataset is mostly small images, and those objects were most of a cold hash.
WHOLE_READ_BYTES = 1 << 20
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)

__all__ = [
    "CHUNK",
    "DatasetError",
    "DatasetSource",
    "DirectorySource",
    "FileFacts",
    "ZipSource",
    "open_source",
]


class FileFacts(NamedTuple):
    """What hashing learns about one file in the same read: its digest and what a layout check asks."""

    sha256: str
    media: str | None  # format sniffed from the first bytes (media.sniff)
    dimensions: tuple[int, int] | None  # (width, height) from an image's header
    utf8: bool  # the whole file decodes as UTF-8


def is_ignored(name: str) -> bool:
    """Hidden files/folders and macOS resource forks are not dataset content."""
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def open_fd(path: str) -> int:
    """A descriptor for `read_small` (tests count the files a pass opens here and through `open`).
    As `open()` does, a link put there since the scan is followed."""
    return os.open(path, _READ_FLAGS)


class DatasetSource(ABC):
    """Read-only view of a dataset's regular files, by relative posix name (sorted).

    `facts` and `kept` hold what this pass already learned while hashing (or what the content
    cache remembers): a layout check asks `media_info`/`is_utf8`/`open` and is answered from
    them without reading a file again.
    """

    path: Path
    is_zip: bool = False
    facts: dict[str, FileFacts]
    kept: dict[str, bytes]  # whole contents of `KEEP` files from their first read
    opened: list[str]  # names read from disk (or the archive) by this source, once per read

    @abstractmethod
    def names(self) -> list[str]: ...

    @abstractmethod
    def size(self, name: str) -> int: ...

    @abstractmethod
    def _open(self, name: str) -> BinaryIO: ...

    def open(self, name: str) -> BinaryIO:
        kept = self.kept.get(name)
        if kept is not None:
            return io.BytesIO(kept)
        self.opened.append(name)
        if name in KEEP and self.size(name) <= MAX_KEPT_BYTES:
            with self._open(name) as fh:
                self.kept[name] = fh.read()
            return io.BytesIO(self.kept[name])
        return self._open(name)

    def close(self) -> None:  # noqa: B027 - directories hold nothing open
        pass

    @property
    def archive_bytes(self) -> int:
        """Bytes that would be uploaded: the zip's own size, or the files' total for a folder."""
        return sum(self.size(n) for n in self.names())

    def read_head(self, name: str, limit: int = HEAD_BYTES) -> bytes:
        with self.open(name) as fh:
            return fh.read(limit)

    def media_info(self, name: str) -> tuple[str | None, tuple[int, int] | None]:
        """(sniffed format, image dimensions) — from this pass's facts when it has them."""
        facts = self.facts.get(name)
        if facts is not None:
            return facts.media, facts.dimensions
        head = self.read_head(name)
        fmt = sniff(head)
        return fmt, image_size(head, fmt) if fmt else None

    def is_utf8(self, name: str) -> bool:
        facts = self.facts.get(name)
        if facts is not None:
            return facts.utf8
        with self.open(name) as fh:
            try:
                fh.read().decode("utf-8")
            except UnicodeDecodeError:
                return False
        return True

    def chunks(self, name: str) -> Iterator[bytes]:
        with self.open(name) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def read_small(self, name: str) -> bytes | None:
        """`name`'s whole content in one read when it is a small file of a folder, else None (the
        caller streams it with `chunks`). Counted in `opened` like `open`."""
        return None


class DirectorySource(DatasetSource):
    """A folder, listed by one `scan_folder` pass (or given that pass's result)."""

    def __init__(self, path: Path, files: list[ScannedFile] | None = None) -> None:
        self.path = path
        self.scanned = scan_folder(path) if files is None else files
        self._files = {f.name: f for f in self.scanned}
        self.facts, self.kept, self.opened = {}, {}, []
        # bytes `read_small` read, by name, when asked to keep them (a cold load before an upload)
        self.retained: dict[str, bytes] | None = None
        # bytes of these files already read in this process, vouched unchanged (vouchers.py): used once
        self.preread: dict[str, bytes] = {}

    def names(self) -> list[str]:
        return list(self._files)

    def size(self, name: str) -> int:
        return self._files[name].key[0]

    def file_path(self, name: str) -> str:
        return self._files[name].path

    def _open(self, name: str) -> BinaryIO:
        return open(self._files[name].path, "rb")  # noqa: SIM115 - the caller closes it

    def read_small(self, name: str) -> bytes | None:
        if self.preread:
            known = self.preread.pop(name, None)
            if known is not None:
                return known
        found = self._files[name]
        size = found.key[0]
        if size > WHOLE_READ_BYTES:
            return None
        fd = open_fd(found.path)
        try:
            parts: list[bytes] = []
            total, want = 0, size + 1
            while chunk := os.read(fd, want):  # to the end, as `chunks` reads: a file may have grown
                parts.append(chunk)
                total += len(chunk)
                if total > WHOLE_READ_BYTES:
                    return None  # too big now: streamed by the caller
                # the end is expected now: the next read asks one byte more than the size left
                want = size + 1 - total if total <= size else CHUNK
        finally:
            os.close(fd)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.opened.append(name)
        if self.retained is not None:
            self.retained[name] = data
        return data


class ZipSource(DatasetSource):
    is_zip = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.facts, self.kept, self.opened = {}, {}, []
        self._archive_bytes = path.stat().st_size
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DatasetError([f"not a readable zip archive ({exc})"]) from None
        problems = unsafe_entries(self._zip.infolist(), self._archive_bytes)
        if problems:
            self._zip.close()
            raise DatasetError(problems)
        self._infos = {
            i.filename: i
            for i in sorted(self._zip.infolist(), key=lambda i: i.filename)
            if not i.is_dir() and not is_ignored(i.filename)
        }

    @property
    def archive_bytes(self) -> int:
        return self._archive_bytes

    def names(self) -> list[str]:
        return list(self._infos)

    def size(self, name: str) -> int:
        return self._infos[name].file_size

    def _open(self, name: str) -> BinaryIO:
        try:
            return self._zip.open(self._infos[name])  # type: ignore[return-value]  # a ZipExtFile is a binary file
        except (NotImplementedError, RuntimeError) as exc:  # unsupported compression, encryption
            raise DatasetError([f"cannot read '{name}' from the zip: {exc}"]) from None

    def chunks(self, name: str) -> Iterator[bytes]:
        try:
            yield from super().chunks(name)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # bad CRC, truncated archive
            raise DatasetError([f"'{name}' in the zip is corrupt ({exc})"]) from None

    def close(self) -> None:
        self._zip.close()


@contextmanager
def open_source(path: str | Path, files: list[ScannedFile] | None = None) -> Iterator[DatasetSource]:
    """A directory or a `.zip`; raises `DatasetError` with a usable message for anything else."""
    p = Path(path)
    if not p.exists():
        raise DatasetError([f"'{p.name}' does not exist"])
    if p.is_dir():
        source: DatasetSource = DirectorySource(p, files)
    elif p.suffix.lower() == ".zip" or zipfile.is_zipfile(p):
        source = ZipSource(p)
    else:
        raise DatasetError([f"'{p.name}' is neither a folder nor a .zip archive"])
    try:
        yield source
    finally:
        source.close()
