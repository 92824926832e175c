"""One pass over a dataset folder: every regular file's relative name, path and stat fingerprint.

Why this exists: hashing, layout checks, zipping and the content cache must all see the *same*
list of files, and a plan must not walk a folder twice. One `os.scandir` walk lists the files
(hidden ones and `__MACOSX/` skipped, as `sources.is_ignored` says) and takes one `lstat` each;
the result says both what is in the dataset and — through each file's `StatKey` — whether it
can have changed since the content cache last read it.

What it must not do: open a file, or follow a symbolic link. A link inside a dataset (to a file
or a folder, inside the dataset or not, dangling or not) is refused: uploading what it points
to (`/etc/passwd`) is never what was meant.
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from reconciler.datasets.errors import DatasetError

# (size, mtime_ns, ctime_ns, inode, device): git's index keys a clean file the same way.
StatKey = tuple[int, int, int, int, int]


class ScannedFile(NamedTuple):
    name: str  # relative posix name inside the dataset
    path: str  # where to open it
    key: StatKey


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def scan_folder(root: str | os.PathLike[str]) -> list[ScannedFile]:
    """The dataset files under `root`, sorted by name. Raises `DatasetError` for any link."""
    files: list[ScannedFile] = []
    problems: list[str] = []
    pending = [(os.fspath(root), "")]
    while pending:
        directory, prefix = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if name[0] == "." or name == "__MACOSX":
                    continue
                if entry.is_symlink():
                    problems.append(link_problem(entry.path, prefix + name))
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, f"{prefix}{name}/"))
                else:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode):  # sockets, FIFOs and devices are not content
                        files.append(
                            ScannedFile(
                                prefix + name,
                                entry.path,
                                (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev),
                            )
                        )
    if problems:
        raise DatasetError(sorted(problems))
    files.sort()
    return files


def link_problem(path: str, name: str) -> str:
    """A link would upload whatever it points to (`/etc/passwd`, a secret outside the folder)."""
    if os.path.isdir(path):
        return f"'{name}' is a symbolic link to a folder; copy the files in instead"
    try:
        target = f" (to {os.readlink(path)})"
    except OSError:  # pragma: no cover - it was a link a moment ago
        target = ""
    return (
        f"'{name}' is a symbolic link{target}; a dataset holds only regular files: copy the file in instead"
    )
