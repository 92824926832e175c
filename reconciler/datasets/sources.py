"""A dataset's files, whether they sit in a directory or in a `.zip`.

Why this exists: hashing, layout checks and zipping all need "the sorted list of files and a way
to stream each one", and must see the *same* list for a folder and for a zip of that folder.
Hidden files (`.DS_Store`, `.git/`…) and macOS `__MACOSX/` entries are not part of a dataset.

What it must not do: read whole files into memory, follow a zip entry outside the archive or a
symbolic link out of a folder (a link to a file or a folder is refused, never read through), or
know any provider's layout rules.
"""

from __future__ import annotations

import os
import stat
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reconciler.datasets.archives import unsafe_entries

CHUNK = 1 << 20


class DatasetError(Exception):
    """The dataset cannot be read at all (missing, not a folder or zip, unsafe archive).

    `problems` holds one message per problem so each becomes its own diagnostic.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def is_ignored(name: str) -> bool:
    """Hidden files/folders and macOS resource forks are not dataset content."""
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


class DatasetSource(ABC):
    """Read-only view of a dataset's regular files, by relative posix name (sorted)."""

    path: Path
    is_zip: bool = False

    @abstractmethod
    def names(self) -> list[str]: ...

    @abstractmethod
    def size(self, name: str) -> int: ...

    @abstractmethod
    def open(self, name: str) -> BinaryIO: ...

    def close(self) -> None:  # noqa: B027 - directories hold nothing open
        pass

    @property
    def archive_bytes(self) -> int:
        """Bytes that would be uploaded: the zip's own size, or the files' total for a folder."""
        return sum(self.size(n) for n in self.names())

    def read_head(self, name: str, limit: int = 65536) -> bytes:
        with self.open(name) as fh:
            return fh.read(limit)

    def chunks(self, name: str) -> Iterator[bytes]:
        with self.open(name) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk


class DirectorySource(DatasetSource):
    def __init__(self, path: Path) -> None:
        self.path = path
        problems: list[str] = []
        files: dict[str, int] = {}
        for dirpath, dirnames, filenames in os.walk(path):
            base = Path(dirpath)
            rel_dir = base.relative_to(path).as_posix()
            for d in sorted(dirnames):
                if (base / d).is_symlink() and not is_ignored(d):
                    problems.append(
                        f"'{_rel(rel_dir, d)}' is a symbolic link to a folder; copy the files in instead"
                    )
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
            for f in filenames:
                name = _rel(rel_dir, f)
                if is_ignored(name):
                    continue
                st = (base / f).lstat()
                if stat.S_ISLNK(st.st_mode):
                    problems.append(_link_problem(base / f, name))
                elif stat.S_ISREG(st.st_mode):
                    files[name] = st.st_size
        if problems:
            raise DatasetError(problems)
        self._files = dict(sorted(files.items()))

    def names(self) -> list[str]:
        return list(self._files)

    def size(self, name: str) -> int:
        return self._files[name]

    def open(self, name: str) -> BinaryIO:
        return (self.path / name).open("rb")


class ZipSource(DatasetSource):
    is_zip = True

    def __init__(self, path: Path) -> None:
        self.path = path
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

    def open(self, name: str) -> BinaryIO:
        try:
            return self._zip.open(self._infos[name])  # type: ignore[return-value]
        except (NotImplementedError, RuntimeError) as exc:  # unsupported compression, encryption
            raise DatasetError([f"cannot read '{name}' from the zip: {exc}"]) from None

    def chunks(self, name: str) -> Iterator[bytes]:
        try:
            yield from super().chunks(name)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # bad CRC, truncated archive
            raise DatasetError([f"'{name}' in the zip is corrupt ({exc})"]) from None

    def close(self) -> None:
        self._zip.close()


def _link_problem(path: Path, name: str) -> str:
    """A link would upload whatever it points to (`/etc/passwd`, a secret outside the folder)."""
    try:
        target = f" (to {os.readlink(path)})"
    except OSError:  # pragma: no cover - it was a link a moment ago
        target = ""
    return f"'{name}' is a symbolic link{target}; a dataset holds only regular files: copy the file in instead"


def _rel(rel_dir: str, name: str) -> str:
    return name if rel_dir == "." else f"{rel_dir}/{name}"


@contextmanager
def open_source(path: str | Path) -> Iterator[DatasetSource]:
    """A directory or a `.zip`; raises `DatasetError` with a usable message for anything else."""
    p = Path(path)
    if not p.exists():
        raise DatasetError([f"'{p.name}' does not exist"])
    if p.is_dir():
        source: DatasetSource = DirectorySource(p)
    elif p.suffix.lower() == ".zip" or zipfile.is_zipfile(p):
        source = ZipSource(p)
    else:
        raise DatasetError([f"'{p.name}' is neither a folder nor a .zip archive"])
    try:
        yield source
    finally:
        source.close()
