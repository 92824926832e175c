"""Finding the manifest files: every `-f` path in order, directories walked for `*.yaml`/`*.yml`.

Why this exists: a manifest tree also holds the datasets — at 2,000 chains, 50,000 media files
beside 2,001 YAML files. The walk is breadth-first with `os.scandir` (file types from the
directory entries, no `stat` per file), and the loader parses each YAML file as it is found and
`declare()`s the dataset folders it names, so the walk never descends into a folder some
manifest already uses as a Dataset's `source` — nor into hidden folders (`.git/`, `.reconciler/`).

The result does not depend on the order things were found: at the end, YAML files inside a
declared dataset folder are not manifests (they are dataset content), folders that were skipped
but turn out not to be datasets after all are walked, and the files come back sorted — by `-f`
path, then by path relative to it — and without duplicates (a file named twice, or reached
through a link, is read once).

Files the walk passes that look meant to be manifests but are not read (`ft.YAML`,
`jobs.yaml.txt`) are kept in `near_misses`, so the prune guard can name them without a walk of
its own (a second walk of the whole tree, datasets included, was half of a plan's time).

What it must not do: follow a symbolic link to a folder (a link to a file is a file), parse
anything itself, or resolve paths one file at a time (`realpath` is one syscall per component).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from reconciler.models.diagnostics import Diagnostic

MANIFEST_SUFFIXES = (".yaml", ".yml")
# Endings that are a manifest's in all but spelling: another case, or a ".txt" an editor added.
_NEAR_MISSES = tuple(s + extra for s in MANIFEST_SUFFIXES for extra in ("", ".txt"))


def near_miss_suffix(name: str) -> str | None:
    """The ending that keeps `name` from being read as a manifest (".YAML", ".yml.txt"), if it looks like one."""
    if name.endswith(MANIFEST_SUFFIXES):
        return None
    lower = name.lower()
    return next((name[len(name) - len(s) :] for s in _NEAR_MISSES if lower.endswith(s)), None)


@dataclass(frozen=True)
class NearMiss:
    """A file in a walked folder that is not read but looks meant to be a manifest."""

    real: str  # resolved path
    shown: str  # as diagnostics show a path (see ManifestWalk.shown)
    suffix: str  # the ending that keeps it from being read, as spelled
    order: tuple[int, str]  # (index of its -f path, path relative to it): the order they are reported in


@dataclass
class ManifestFile:
    real: str  # resolved path: the identity of the file, and the base of its relative dataset paths
    shown: str  # as diagnostics show it: relative to the working directory when under it
    order: tuple[int, str]  # (index of its -f path, path relative to that -f path): the load order
    root: int  # index of the -f path
    walked: bool  # found by walking a directory (not named with -f)
    sources: list[str] = field(default_factory=list)  # dataset folders it declares (real paths)


class ManifestWalk:
    """Iterate to get files as found; `declare()` each one's dataset folders; then `files()`."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]], cwd: str, out: list[Diagnostic]) -> None:
        self.cwd = os.path.realpath(cwd)
        self.out = out
        self.found: dict[str, ManifestFile] = {}
        self._pending: deque[tuple[int, str, str]] = deque()  # (root index, real dir, relative posix prefix)
        self._skipped: dict[str, tuple[int, str, str]] = {}  # dataset folders not walked into
        self._roots: list[str] = []
        self._empty_roots: list[tuple[int, str]] = []
        self._named: list[ManifestFile] = []  # files named with -f, yielded first
        self._declared_cache: set[str] = set()
        self._declared_count = -1
        self._near_misses: list[NearMiss] = []
        self._settled: set[str] | None = None  # _declared(), until a file is added or declares
        for index, given in enumerate(paths):
            path = os.fspath(given)
            real = os.path.realpath(path)
            self._roots.append(real)
            if not os.path.exists(real):
                out.append(Diagnostic(f"{path}: no such file or directory"))
            elif os.path.isdir(real):
                self._pending.append((index, real, ""))
                self._empty_roots.append((index, path))
            else:
                mf = self._add(real, index, "", walked=False)
                if mf is not None:
                    self._named.append(mf)

    def shown(self, real: str) -> str:
        if real.startswith(self.cwd + os.sep):
            return real[len(self.cwd) + 1 :].replace(os.sep, "/")
        return real

    def _add(self, real: str, root: int, rel: str, *, walked: bool) -> ManifestFile | None:
        if real in self.found:
            known = self.found[real]
            if (root, rel) < known.order:
                known.order, known.root, known.walked = (root, rel), root, walked
                self._settled = None
            return None
        mf = ManifestFile(real, self.shown(real), (root, rel), root, walked)
        self.found[real] = mf
        self._settled = None
        return mf

    def declare(self, manifest: ManifestFile, sources: list[str]) -> None:
        """The dataset folders a manifest names (normalised real paths): the walk will not enter them."""
        manifest.sources = sources
        self._declared_count = -1
        self._settled = None

    def _declared(self) -> set[str]:
        """Dataset folders named by manifests that are not themselves inside a dataset folder."""
        if self._settled is not None:
            return self._settled
        self._settled = self._settle()
        return self._settled

    def _settle(self) -> set[str]:
        files = list(self.found.values())
        declared = {s for f in files for s in f.sources}
        while True:
            kept = [f for f in files if not (f.walked and _inside_any(f.real, declared, self._roots[f.root]))]
            again = {s for f in kept for s in f.sources}
            if again == declared:
                return declared
            declared = again

    def __iter__(self) -> Iterator[ManifestFile]:
        yield from self._named
        while True:
            while self._pending:
                root, directory, prefix = self._pending.popleft()
                if prefix and directory in self._declared_now():
                    self._skipped[directory] = (root, directory, prefix)
                    continue
                yield from self._scan(root, directory, prefix)  # parsed (and declared) before the next folder
            # folders skipped as datasets that no kept manifest names after all are walked now
            declared = self._declared()
            reopen = [d for d in self._skipped if d not in declared]
            if not reopen:
                return
            for d in reopen:
                self._pending.append(self._skipped.pop(d))

    def _declared_now(self) -> set[str]:
        if self._declared_count != len(self.found):
            self._declared_cache = {s for f in self.found.values() for s in f.sources}
            self._declared_count = len(self.found)
        return self._declared_cache

    def _scan(self, root: int, directory: str, prefix: str) -> list[ManifestFile]:
        new: list[ManifestFile] = []
        try:
            with os.scandir(directory) as entries:
                items = sorted(entries, key=lambda e: e.name)
        except (PermissionError, FileNotFoundError, NotADirectoryError):
            return new
        for entry in items:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                self._pending.append((root, entry.path, f"{prefix}{name}/"))
            elif not name.endswith(MANIFEST_SUFFIXES):
                suffix = near_miss_suffix(name)
                if suffix is not None and entry.is_file():
                    real = os.path.realpath(entry.path)
                    self._near_misses.append(NearMiss(real, self.shown(real), suffix, (root, prefix + name)))
            else:
                real = entry.path
                if entry.is_symlink():
                    if not entry.is_file():  # a link to a folder, or to nothing
                        continue
                    real = os.path.realpath(real)
                elif not entry.is_file(follow_symlinks=False):
                    continue
                mf = self._add(real, root, prefix + name, walked=True)
                if mf is not None:
                    new.append(mf)
        return new

    def near_misses(self) -> list[NearMiss]:
        """The near-miss files in the folders walked, in load order; none inside a declared dataset folder."""
        declared = self._declared()
        return sorted(
            (m for m in self._near_misses if not _inside_any(m.real, declared, self._roots[m.order[0]])),
            key=lambda m: m.order,
        )

    def files(self) -> list[ManifestFile]:
        """The manifests, in load order; YAML inside a declared dataset folder is dataset content."""
        declared = self._declared()
        files = sorted(
            (
                f
                for f in self.found.values()
                if not (f.walked and _inside_any(f.real, declared, self._roots[f.root]))
            ),
            key=lambda f: f.order,
        )
        roots_with_files = {f.root for f in files}
        for index, path in self._empty_roots:
            if index not in roots_with_files:
                self.out.append(Diagnostic(f"{path}: no *.yaml or *.yml files found"))
        return files


def _inside_any(path: str, folders: set[str], root: str) -> bool:
    """Whether `path` is inside one of `folders` that lies below `root` (a -f folder itself is walked)."""
    parent = os.path.dirname(path)
    while len(parent) > len(root):
        if parent in folders:
            return True
        parent = os.path.dirname(parent)
    return False


def normalized_source(base_dir: str, source: str) -> str:
    """A dataset `source` relative to its manifest's (real) folder, without a `realpath` per dataset.

    `..` after a component that may be a link is only right after resolving, so then it resolves.
    """
    joined = os.path.join(base_dir, source)
    parts = source.replace("\\", "/").split("/")
    leading = 0
    while leading < len(parts) and parts[leading] in ("..", "."):
        leading += 1
    if ".." in parts[leading:]:
        return os.path.realpath(joined)
    return os.path.normpath(joined)
