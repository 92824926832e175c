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
import struct
from collections.abc import Callable, Iterable
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

from reconciler.datasets.errors import DatasetError

# (size, mtime_ns, ctime_ns, inode, device): git's index keys a clean file the same way.
StatKey = tuple[int, int, int, int, int]
STAT_KEY_FORMAT = "QqqQQ"  # one packed StatKey (content_cache.pack_keys packs the same way)


class ScannedFile(NamedTuple):
    name: str  # relative posix name inside the dataset
    path: str  # where to open it
    key: StatKey


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def scan_folder(root: str | os.PathLike[str]) -> list[ScannedFile]:
    """The dataset files under `root`, sorted by name. Raises `DatasetError` for any link."""
    return scan_folder_keys(root).files


class FolderKeys:
    """A scan with what the content cache compares, computed in the same pass.

    `files` (name, path, StatKey per file) is built on first use: an unchanged dataset needs only
    `names`, `packed` and `newest` (one bytes comparison), not 25 tuples per dataset.
    """

    __slots__ = ("names", "packed", "newest", "_found", "_files")

    def __init__(self, found: list[tuple[str, str, StatKey]], names: str, packed: bytes, newest: int) -> None:
        self.names = names  # "\0".join of the sorted names
        self.packed = packed  # every file's StatKey, packed (content_cache.pack_keys)
        self.newest = newest  # the latest mtime or ctime of any file (the racy-clean rule), 0 when empty
        self._found = found
        self._files: list[ScannedFile] | None = None

    @property
    def files(self) -> list[ScannedFile]:
        if self._files is None:
            # `folder` ends with its separator: a concatenation is os.path.join here, at a tenth of it
            self._files = [
                ScannedFile(name, folder + name.rpartition("/")[2], key) for name, folder, key in self._found
            ]
            self._found = []
        return self._files


_BY_FD = os.scandir in os.supports_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_REGULAR = stat.S_IFREG
_FILE_TYPE = 0o170000  # stat.S_IFMT's mask
_first = itemgetter(0)
_key = itemgetter(2)
_mtime = itemgetter(1)
_ctime = itemgetter(2)


def scan_folder_keys(root: str | os.PathLike[str]) -> FolderKeys:
    """`scan_folder` plus the names, packed StatKeys and newest file time the cache needs.

    One loop and no per-file helper calls: an unchanged plan does this for every file of every
    dataset (50,000 at 2,000 chains), so it is most of what "only stat'ed" costs in Python. A
    regular file (by the directory entry's type, the common case) is asked about first.
    """
    found: list[tuple[str, str, StatKey]] = []  # (name, folder it is in with a final '/', StatKey)
    problems: list[str] = []
    pending = [(os.fspath(root), "")]
    while pending:
        directory, prefix = pending.pop()
        folder = directory if directory.endswith("/") else directory + "/"  # what a file's path starts with
        # listed through a descriptor where the OS allows it: each stat is then relative to the
        # folder (fstatat), not a walk of the whole path from / (a tenth of a stat's cost here)
        fd = os.open(directory, _DIR_FLAGS) if _BY_FD else -1
        try:
            with os.scandir(fd if _BY_FD else directory) as entries:
                for entry in entries:
                    name = entry.name
                    if name[0] == "." or name == "__MACOSX":
                        continue
                    if entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        if st.st_mode & _FILE_TYPE == _REGULAR:  # not replaced since the listing
                            key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
                            found.append((prefix + name, folder, key))
                    elif entry.is_symlink():
                        problems.append(link_problem(os.path.join(directory, name), prefix + name))
                    elif entry.is_dir(follow_symlinks=False):
                        pending.append((os.path.join(directory, name), f"{prefix}{name}/"))
                    # anything else (sockets, FIFOs, devices) is not content
        finally:
            if fd >= 0:
                os.close(fd)
    if problems:
        raise DatasetError(sorted(problems))
    found.sort(key=_first)
    keys = list(map(_key, found))
    newest = max(max(map(_mtime, keys), default=0), max(map(_ctime, keys), default=0))
    names = "\0".join(list(map(_first, found)))
    packed = struct.pack(f"<{STAT_KEY_FORMAT * len(found)}", *chain.from_iterable(keys))
    return FolderKeys(found, names, packed, newest)


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


# -- scans taken ahead, by a helper process ---------------------------------------------------------

# What `inspecting.inspect_dataset` compares with the content cache: (names, packed, newest).
Prescanned = tuple[str, bytes, int]
_prescans: dict[str, Callable[[], dict[str, Prescanned]]] = {}


def prescan_folders(folders: Iterable[str]) -> dict[str, Prescanned]:
    """`scan_folder_keys` of each folder, as plain data (what the CLI's helper process sends back).

    A folder that cannot be scanned cleanly (gone, a link inside, not a folder) is left out: the
    parent scans it itself and reports what it finds.
    """
    out: dict[str, Prescanned] = {}
    for folder in folders:
        try:
            scan = scan_folder_keys(folder)
        except Exception:  # noqa: BLE001 - anything odd is the parent's to see and report
            continue
        out[folder] = (scan.names, scan.packed, scan.newest)
    return out


def offer_prescan(cache_file: str, collect: Callable[[], dict[str, Prescanned]]) -> None:
    """Scans of the folders the content cache at `cache_file` names, taken during this run; `collect`
    is called at most once, by the first `claim_prescan` of that cache."""
    _prescans[os.path.abspath(cache_file)] = collect


def claim_prescan(cache_file: str) -> dict[str, Prescanned]:
    """The scans offered for this cache file (each offer is used once), or {} when there are none."""
    collect = _prescans.pop(os.path.abspath(cache_file), None)
    return collect() if collect is not None else {}
