"""Parsed manifests by the sha256 of their bytes, so an unchanged file is not parsed again.

Why this exists: parsing YAML is the largest single cost of loading a manifest set (2,000 files
at 2,000 chains), and between two plans almost no file changes. A parse is a pure function of
the file's bytes (and of this code), so the cache is keyed by content: a hit is by definition
the same result — there is no staleness to get wrong. Each entry is the file's documents (data,
where each starts, the packed field positions) and its YAML diagnostics, without the file's
name: the caller's display path is put back on a hit, so a moved or renamed file still hits.

Storage: `<root>/.reconciler/manifests.cache`, beside the dataset content cache and like it
sealed, versioned by the code that parses (`fingerprint()`), replaced atomically, and written
only after a successful load (bad manifests write nothing). Entries not used by this load and
older than a day are dropped when it is written. A value `marshal` cannot hold (a YAML
timestamp) makes that file uncacheable: it is simply parsed every time.

What it must not do: share a mutable object between two results (each hit decodes its own copy;
equal strings and packed positions, immutable, are shared), or
change what `parse_yaml` returns.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from reconciler.datasets.cache_files import read_sealed, write_sealed
from reconciler.loading import yaml_source
from reconciler.loading.yaml_source import Positions, YamlDocument, YamlFile, parse_yaml
from reconciler.models.diagnostics import Diagnostic, Severity, SourceLocation

CACHE_FILE = "manifests.cache"
_MAGIC = b"reconciler manifest cache 2\n"
FORGET_AFTER_NS = 24 * 3600 * 10**9

_fingerprint: str | None = None


def fingerprint() -> str:
    """This parser: its source, PyYAML (its resolvers decide scalar types) and libyaml, this Python.

    PyYAML is known by its files (its package and its libyaml extension), found but not imported:
    a plan whose manifests all come from this cache never parses, and importing PyYAML would be
    8-9 ms of its start-up. Installing another PyYAML rewrites those files; only where they
    cannot be statted (a zip) is PyYAML imported for its version, as before.
    """
    global _fingerprint
    if _fingerprint is None:
        parts = [sys.version.split()[0], str(marshal.version), *_pyyaml()]
        for source in (yaml_source.__file__, _origin("reconciler.loading.yaml_parser")):
            parts.append(_file_identity(source))
        _fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return _fingerprint


def _pyyaml() -> list[str]:
    """PyYAML's package file and its libyaml extension (or that it has none), by path, size and mtime."""
    package = importlib.util.find_spec("yaml")
    if package is None or not package.submodule_search_locations:  # pragma: no cover - a dependency
        return ["no PyYAML"]
    extension = importlib.machinery.PathFinder.find_spec(
        "yaml._yaml", list(package.submodule_search_locations)
    )
    found = [_file_identity(package.origin), _file_identity(extension.origin if extension else None)]
    if "?" in found:  # pragma: no cover - PyYAML in a zip or otherwise not a plain file: ask it
        import yaml

        found += [yaml.__version__, str(yaml.__with_libyaml__)]
    return found


def _origin(module: str) -> str | None:
    spec = importlib.util.find_spec(module)
    return spec.origin if spec is not None else None


def _file_identity(path: str | None) -> str:
    """`path:size:mtime` of a file; "none" for no file, "?" for one that cannot be statted."""
    if path is None:
        return "none"
    try:
        st = os.stat(path)
    except OSError:
        return "?"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


class ParseCache:
    """`parse(text, display_path)` — `parse_yaml` through the cache. Thread-safe; `save()` when changed."""

    def __init__(self, path: Path | None, *, writable: bool = True) -> None:
        self.path = path
        self.writable = writable and path is not None
        self._entries: dict[bytes, tuple[bytes, int]] = {}  # sha256 -> (marshalled result, written_ns)
        self._seen: set[bytes] = set()
        # equal packed positions (documents of the same shape at the same lines), one bytes object
        self._shared: dict[bytes, bytes] = {}
        self._dirty = False
        self._lock = threading.Lock()
        self._problem: str | None = None
        self._read = path is None  # the file is read on the first parse: a load from its memo parses nothing
        self.hits = self.misses = 0

    @property
    def load_problem(self) -> str | None:
        """Why the file on disk was not used (None: used, or there was none)."""
        with self._lock:
            self._read_file()
        return self._problem

    def _read_file(self) -> None:  # with the lock held
        if not self._read and self.path is not None:
            self._read = True
            content, self._problem = read_sealed(self.path, _MAGIC, fingerprint())
            if isinstance(content, dict):
                self._entries = content

    @classmethod
    def in_directory(cls, directory: Path, *, writable: bool = True) -> ParseCache:
        return cls(directory / CACHE_FILE, writable=writable)

    def parse(self, text: bytes, display_path: str, *, key: bytes | None = None) -> YamlFile:
        """`key`: the sha256 of `text`, when the caller has it already."""
        if key is None:
            key = hashlib.sha256(text).digest()
        with self._lock:
            self._read_file()
            self._seen.add(key)
            entry = self._entries.get(key)
        if entry is not None:
            try:
                result = _restore(marshal.loads(entry[0]), display_path, self._shared)
                self.hits += 1
                return result
            except Exception:  # a damaged entry: parse again (and overwrite it)
                pass
        self.misses += 1
        parsed = parse_yaml(text, display_path)
        try:
            blob = marshal.dumps(_entry(parsed))
        except ValueError:  # a value marshal cannot hold (a YAML timestamp): not cached
            return parsed
        with self._lock:
            self._entries[key] = (blob, time.time_ns())
            self._dirty = True
        return parsed

    def save(self) -> bool:
        if not self.writable or self.path is None:
            return False
        with self._lock:
            if not self._dirty:
                return False
            now = time.time_ns()
            keep = {k: v for k, v in self._entries.items() if k in self._seen or now - v[1] < FORGET_AFTER_NS}
            self._dirty = False
        return write_sealed(self.path, _MAGIC, fingerprint(), keep)


def _entry(parsed: YamlFile) -> tuple[Any, ...]:
    docs = []
    for d in parsed.documents:
        if isinstance(d.locations, Positions):
            compact = d.locations.compact()
        elif not d.locations:
            compact = ("", b"")
        else:  # pragma: no cover - parse_yaml makes Positions
            raise ValueError("positions not packed")
        docs.append((d.index, d.data, d.location.line, d.location.column, compact))
    diags = []
    for g in parsed.diagnostics:
        loc = g.location
        if loc is not None and loc.file != parsed.path:
            raise ValueError("a diagnostic about another file")
        diags.append((g.message, loc.line if loc else 0, loc.column if loc else 0, g.severity.value))
    return tuple(docs), tuple(diags)


def _restore(entry: tuple[Any, ...], display_path: str, shared: dict[bytes, bytes]) -> YamlFile:
    """The parsed file again. Its strings come back interned (parse_yaml interns them and marshal
    keeps that), so equal names and field-path lists are one object; equal packed positions are
    shared through `shared` (bytes cannot be interned): a loaded manifest set keeps both."""
    docs, diags = entry
    result = YamlFile(path=display_path)
    for index, data, line, column, (paths, packed) in docs:
        where = SourceLocation(display_path, line, column)
        packed = shared.setdefault(packed, packed)
        result.documents.append(
            YamlDocument(index, data, where, Positions(display_path, compact=(paths, packed)))
        )
    for message, line, column, severity in diags:
        at = SourceLocation(display_path, line, column) if line else None
        result.diagnostics.append(Diagnostic(message, at, severity=Severity(severity)))
    return result
