"""What a plan already knows about each local dataset, so an unchanged one is only stat'ed.

Why this exists: a dataset's identity is the sha256 of its content, and every plan needs it. Read
from disk, that is every file of every dataset opened two or three times per plan (50,000 files
at 2,000 chains). This cache remembers, per dataset path, each file's `StatKey` — (size, mtime_ns,
ctime_ns, inode, device), as git's index does — with its sha256 and `FileFacts`, and the results
of the layout checks for the content digest they were computed on.

Correctness first: the digest decides retrains, which cost hours of GPU time.
- A file is trusted only when its whole StatKey is unchanged. `touch -d` can put an mtime back,
  but not the ctime; a rename or a replaced file changes the inode; an edit changes the ctime.
- A *racily clean* file — changed within `RACY_NS` of the moment its entry was scanned, so a later
  edit within the same timestamp tick could leave its StatKey unchanged — is re-hashed, as git
  does. `RACY_NS` (2 s) covers coarse kernel clocks and 2-second FAT timestamps.
- Layout results are keyed by content digest and usage, so they are reused only for exactly the
  same bytes and names. The file records which reconciler code produced it (`rules_fingerprint`);
  other code, another Python, a bad checksum or any decoding error means an empty cache: hash again.

Storage: one file beside the state (`<root>/.reconciler/datasets.cache`), never inside `state.db`
(plan leaves that byte-for-byte unchanged), written only when something changed, sealed and
replaced atomically (`cache_files.py`: readers — concurrent plans included — see an old or a
new file, never a torn one). The payload is `marshal`: 5–10× faster to load than JSON for this
shape, and it builds plain data only.

What it must not do: decide anything about a dataset. It answers "what did these exact files
hash to"; `inspecting.py` decides when to ask it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import marshal
import os
import pkgutil
import re
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.datasets.cache_files import read_sealed, write_sealed
from reconciler.datasets.scanning import STAT_KEY_FORMAT
from reconciler.datasets.sources import FileFacts

CACHE_FILE = "datasets.cache"
RACY_NS = 2_000_000_000
FORGET_AFTER_NS = (
    30 * 24 * 3600 * 10**9
)  # an entry neither used by a save's run nor written for 30 days is dropped
_MAGIC = b"reconciler dataset cache 1\n"
_FORMAT = 1
_KEY = STAT_KEY_FORMAT  # StatKey: size, mtime_ns, ctime_ns, inode, device


@dataclass
class CachedDataset:
    """One dataset as last scanned. Per-file columns are packed; `facts` is decoded on demand."""

    is_zip: bool
    scanned_ns: int  # wall clock taken before the files were stat'ed
    names: str  # "\0".join of the sorted file names
    keys: bytes  # packed StatKeys in name order (a zip: the archive's own StatKey only)
    shas: str  # sha256 hex of each file, concatenated in name order
    facts: bytes  # marshal of [(media, dimensions, utf8)] in name order
    digest: str
    total_bytes: int
    samples: dict[str, int] = field(default_factory=dict)  # provider type ("" for none) -> samples
    layouts: dict[tuple[str, ...], list[tuple[str, str]]] = field(default_factory=dict)  # usage -> problems
    written_ns: int = 0

    def name_list(self) -> list[str]:
        # interned: datasets repeat file names (data.jsonl, image_1.png), and a plan keeps them all
        return list(map(sys.intern, self.names.split("\0"))) if self.names else []

    def sha_list(self) -> list[str]:
        s = self.shas
        return [s[i : i + 64] for i in range(0, len(s), 64)]

    def key_list(self) -> list[tuple[int, ...]]:
        flat = struct.unpack(f"<{_KEY * (len(self.keys) // 40)}", self.keys)
        return [flat[i : i + 5] for i in range(0, len(flat), 5)]

    def fact_list(self) -> list[FileFacts]:
        shas = self.sha_list()
        return [
            FileFacts(sha, media, tuple(dims) if dims else None, bool(utf8))
            for sha, (media, dims, utf8) in zip(shas, marshal.loads(self.facts), strict=True)
        ]

    def to_row(self) -> tuple[Any, ...]:
        return (
            self.is_zip, self.scanned_ns, self.names, self.keys, self.shas, self.facts, self.digest,
            self.total_bytes, self.samples, self.layouts, self.written_ns,
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: Any) -> CachedDataset:
        entry = cls(*row)
        ok = (
            isinstance(entry.names, str)
            and isinstance(entry.keys, bytes)
            and isinstance(entry.shas, str)
            and isinstance(entry.facts, bytes)
            and isinstance(entry.digest, str)
            and isinstance(entry.scanned_ns, int)
            and isinstance(entry.samples, dict)
            and isinstance(entry.layouts, dict)
            and len(entry.keys) % 40 == 0
            and len(entry.shas) == 64 * (entry.names.count("\0") + 1 if entry.names else 0)
        )
        if not ok:
            raise ValueError("malformed cache entry")
        return entry


def known_folders(path: Path) -> list[str]:
    """The folder datasets the cache file at `path` names, for a helper process to stat ahead.

    Unchecked (no checksum, no fingerprint) and never trusted: the helper only lists folders, and
    the parent compares its scans with the entries *it* read and validated. Anything odd: [].
    """
    try:
        blob = path.read_bytes()
        if not blob.startswith(_MAGIC):
            return []
        _, rows = marshal.loads(memoryview(blob)[len(_MAGIC) + 32 :])
        return [k for k, row in rows.items() if isinstance(k, str) and not row[0]]
    except Exception:  # noqa: BLE001 - a damaged file lists nothing
        return []


def pack_keys(keys: list[tuple[int, int, int, int, int]]) -> bytes:
    return struct.pack(f"<{_KEY * len(keys)}", *[v for k in keys for v in k])


def pack_facts(facts: list[FileFacts]) -> bytes:
    return marshal.dumps([(f.media, f.dimensions, f.utf8) for f in facts])


_fingerprint: str | None = None


def rules_fingerprint() -> str:
    """Which code made a cache: this format, this Python, and the modules that scan, hash and check.

    The scanning and deciding modules count too: a change to how a StatKey is taken or packed
    must never meet a file written by the code before it.
    """
    global _fingerprint
    if _fingerprint is None:
        from reconciler.version import __version__

        parts = [str(_FORMAT), __version__, sys.version.split()[0], str(marshal.version)]
        for name, file in _rule_modules():
            try:
                st = os.stat(file or "")
                parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                parts.append(f"{name}:?")
        _fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return _fingerprint


def _rule_modules() -> list[tuple[str, str | None]]:
    """(name, file) of every module of this package (the providers' layout checks among them, found
    by listing the package, not by name), and of the modules a layout module says it also depends
    on (`FINGERPRINT_ALSO`, e.g. a table of trainers in the models).

    Those are found, not imported: only their files are statted, and importing a provider's layout
    checks or models (a few ms of tables and pydantic classes) for a plan that never uses that
    provider is start-up time wasted. A module not imported yet has its `FINGERPRINT_ALSO` read
    from its source (`fingerprint_also`).
    """
    package = __name__.rpartition(".")[0]
    names = sorted(m.name for m in pkgutil.iter_modules(importlib.import_module(package).__path__))
    modules = [(f"{package}.{name}", _origin(f"{package}.{name}")) for name in names]
    also = [other for name, file in modules for other in fingerprint_also(name, file)]
    return modules + [(name, _origin(name)) for name in also]


# `FINGERPRINT_ALSO = ("a.b", "c.d")` at the start of a line: a literal tuple of module names
_ALSO = re.compile(r"^FINGERPRINT_ALSO\s*=\s*(\([^)]*\))", re.MULTILINE)


def fingerprint_also(name: str, file: str | None) -> tuple[str, ...]:
    """Module `name`'s `FINGERPRINT_ALSO`: its attribute once imported, else read from its source
    (a test checks both readings agree for every module of this package)."""
    module = sys.modules.get(name)
    if module is not None:
        return tuple(getattr(module, "FINGERPRINT_ALSO", ()))
    try:
        with open(file or "", encoding="utf-8") as fh:
            found = _ALSO.search(fh.read())
    except OSError:
        return ()
    return tuple(ast.literal_eval(found[1])) if found else ()


def _origin(name: str) -> str | None:
    """The file module `name` is (or would be) loaded from; the module itself is not run."""
    module = sys.modules.get(name)
    if module is not None:
        return module.__file__
    spec = importlib.util.find_spec(name)
    return spec.origin if spec is not None else None


class ContentCache:
    """Dataset entries by absolute source path. Thread-safe; `save()` writes only when changed.

    `ContentCache(None)` is an empty cache that is never written (what `load()` uses by default).
    """

    def __init__(self, path: Path | None, *, writable: bool = True) -> None:
        self.path = path
        self.writable = writable and path is not None
        self._entries: dict[str, CachedDataset] = {}
        self._seen: set[str] = set()
        self._shared: dict[str, str] = {}
        self._dirty = False
        self._lock = threading.Lock()
        self.load_problem: str | None = None  # why an existing file was not used (for tests and --debug)
        # an apply's load: the bytes of the files read, by folder, for their upload (vouchers.py)
        self.keep_reads = False
        self.retained: dict[str, dict[str, bytes]] = {}
        self.retained_pool: dict[str, bytes] = {}  # equal bytes kept once (inspecting._pooled)
        if path is not None:
            self._read(path)

    @classmethod
    def in_directory(cls, directory: Path, *, writable: bool = True) -> ContentCache:
        return cls(directory / CACHE_FILE, writable=writable)

    # -- reading ---------------------------------------------------------------------------------

    def _read(self, path: Path) -> None:
        rows, self.load_problem = read_sealed(path, _MAGIC, rules_fingerprint())
        if rows is None:
            return
        try:
            entries = {str(k): CachedDataset.from_row(v) for k, v in rows.items()}
        except Exception as error:  # a well-sealed file of the wrong shape is a miss, never a crash
            self.load_problem = f"undecodable: {type(error).__name__}"
            return
        self._entries = entries

    def shared(self, shas: list[str]) -> list[str]:
        """`shas` with each equal string one object across this cache's datasets (copies of the same
        image in many datasets; a plan keeps every dataset's file list)."""
        setdefault = self._shared.setdefault
        return [setdefault(s, s) for s in shas]

    def get(self, source: str) -> CachedDataset | None:
        with self._lock:
            self._seen.add(source)
            return self._entries.get(source)

    def seen_entries(self) -> dict[str, CachedDataset]:
        """The entries this run looked up or wrote (what `vouchers.vouchers_of` keeps of a load)."""
        with self._lock:
            return {key: entry for key in self._seen if (entry := self._entries.get(key)) is not None}

    # -- writing ---------------------------------------------------------------------------------

    def put(self, source: str, entry: CachedDataset) -> None:
        entry.written_ns = time.time_ns()
        with self._lock:
            self._seen.add(source)
            self._entries[source] = entry
            self._dirty = True

    def touch(self) -> None:
        """Something in an entry changed in place (a layout result was added)."""
        with self._lock:
            self._dirty = True

    def save(self) -> bool:
        """Write the file if anything changed (atomically); False when there was nothing to do."""
        if not self.writable or self.path is None:
            return False
        with self._lock:
            if not self._dirty:
                return False
            now = time.time_ns()
            rows = {
                k: e.to_row()
                for k, e in self._entries.items()
                if k in self._seen or now - e.written_ns < FORGET_AFTER_NS
            }
            self._dirty = False
        return write_sealed(self.path, _MAGIC, rules_fingerprint(), rows)
