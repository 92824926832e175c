"""The last successful load, kept whole: a plan whose manifests did not change validates nothing.

Why this exists: between two plans almost nothing changes, yet every plan turned 4,000 documents
into validated resources again (pydantic), checked their references and hashed every spec:
about a third of a no-change `plan --refresh=false`. Loading is a pure function of a few inputs,
so its result can be kept and reused when those inputs are the same. The inputs, all in the key:

- every manifest and patch file read, by resolved path, displayed path and the sha256 of its bytes
  (the loader reads and hashes each file anyway: a changed byte, a renamed, added or removed
  file, or one replaced by a link to other content is a different key — no time stamps, so no
  racy window);
- the arguments (`-f` paths and patch files as given, the working directory, whether datasets
  are checked);
- the code: this Python, pydantic and pydantic-core, PyYAML (`parse_cache.fingerprint`), every
  `.py` file of this package by path, size and mtime, and the provider plugins' entry points
  (and, for a plugin outside this package, its module's file).

What is *not* kept is what depends on anything else: the dataset checks (content hashes, layouts,
checkpoint schedules) run on every load, through the content cache, exactly as without a memo.
The spec hashes and the dependency order are kept too, with the dataset digests they were
computed from; they are reused only when this load's dataset checks found the same digests.

Storage: `<state dir>/manifests.memo`, sealed like the other cache files (`cache_files`, marshal
outside). The resources inside are a pickle — the one way to rebuild 20,000 pydantic objects
without validating them again — read by an unpickler that builds nothing but this package's (and
the plugins') model classes, dataclasses and enums: no function is ever called by name, so a
planted file cannot run code. A file that is missing, damaged, written by other code or for
other inputs is a miss, and the load runs in full; only a successful load writes the memo.

What it must not do: return anything a full load would not (the tests load with and without it
and compare), or trust anything it cannot check.
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import hashlib
import io
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import plugin_discovery
from reconciler.datasets.cache_files import read_sealed, write_sealed
from reconciler.forked import run_detached
from reconciler.loading import parse_cache
from reconciler.loading.yaml_source import Positions
from reconciler.models.diagnostics import Diagnostic
from reconciler.models.kinds import Kind
from reconciler.models.resources import ManifestSet

MEMO_FILE = "manifests.memo"
_MAGIC = b"reconciler load memo 1\n"

FileKey = tuple[str, str, bytes]  # (resolved path, displayed path, sha256 of its bytes)

_code: str | None = None


@dataclass
class Derived:
    """Computed from the manifests after loading (the workspace's), valid for these dataset digests."""

    order: list[str]
    hashes: dict[str, str]
    digests: dict[str, str | None]  # Dataset address -> content digest the hashes were computed with


@dataclass
class Draft:
    """What a full load learned that a memo keeps; `save` writes it once the load has succeeded."""

    context: str
    files: tuple[FileKey, ...]
    sources: dict[bytes, tuple[str, ...]]  # file sha256 -> the raw `spec.source`s of its Datasets
    later: list[Diagnostic]  # diagnostics after the walk and before the dataset checks
    base_dirs: dict[str, str]
    patch_set: Any


@dataclass
class Restored:
    """A memo that matched: the manifests before the dataset checks, and what came with them."""

    manifests: ManifestSet
    later: list[Diagnostic]
    base_dirs: dict[str, str]
    patch_set: Any
    derived: Derived | None


@dataclass
class LoadMemo:
    """One memo file: read once (`sources_of` during the walk), matched once after it (`restore`)."""

    path: Path | None
    writable: bool = True
    _stored: tuple[Any, ...] | None = field(default=None, repr=False)
    load_problem: str | None = None
    hit: bool = False

    @classmethod
    def in_directory(cls, directory: Path, *, writable: bool = True) -> LoadMemo:
        path = directory / MEMO_FILE
        memo = cls(path, writable=writable)
        content, memo.load_problem = read_sealed(path, _MAGIC, code_fingerprint())
        if isinstance(content, tuple) and len(content) == 5:
            memo._stored = content
        return memo

    def sources_of(self, context: str, sha: bytes) -> tuple[str, ...] | None:
        """The dataset sources the memo's file with these bytes declares; None when it has no such
        file, or was made by other code or arguments (which might read a file's sources otherwise)."""
        if self._stored is None or self._stored[0] != context:
            return None
        found = self._stored[2].get(sha)
        return tuple(found) if found is not None else None

    def restore(self, context: str, files: tuple[FileKey, ...]) -> Restored | None:
        """The memo's load, when it was made from exactly these inputs; None otherwise."""
        stored, self._stored = self._stored, None  # matched once: its bytes need not outlive the load
        if stored is None or stored[0] != context or tuple(map(tuple, stored[1])) != files:
            return None
        collecting = gc.isenabled()
        gc.disable()  # tens of thousands of objects, none of them garbage: no collection passes over them
        try:
            manifests, later, base_dirs, patch_set = _ModelsOnly(io.BytesIO(stored[4])).load()
        except Exception:  # noqa: BLE001 - undecodable, or asks for something not allowed: load in full
            return None
        finally:
            if collecting:
                gc.enable()
        if not isinstance(manifests, ManifestSet):
            return None
        derived = Derived(*stored[3]) if stored[3] is not None else None
        self.hit = True
        return Restored(manifests, list(later), dict(base_dirs), patch_set, derived)

    def save(
        self, draft: Draft, manifests: ManifestSet, derived: Derived | None, *, background: bool = True
    ) -> bool:
        """Keep this successful load (its Datasets without their content: that is checked each time).

        `background`: pickling 20,000 objects costs a cold plan a tenth of its time, so a forked
        child does it (`reconciler.forked`) where that is safe; the command goes on meanwhile."""
        if not self.writable or self.path is None:
            return False
        if background and run_detached(lambda: self._write(draft, manifests, derived)):
            return True
        return self._write(draft, manifests, derived)

    def _write(self, draft: Draft, manifests: ManifestSet, derived: Derived | None) -> bool:
        assert self.path is not None
        try:
            bare = _without_content(manifests)
            payload = pickle.dumps((bare, draft.later, draft.base_dirs, draft.patch_set), protocol=5)
        except Exception:  # noqa: BLE001 - something in it cannot be pickled: no memo, never a failure
            return False
        kept = (derived.order, derived.hashes, derived.digests) if derived is not None else None
        content = (draft.context, draft.files, draft.sources, kept, payload)
        return write_sealed(self.path, _MAGIC, code_fingerprint(), content)


def dataset_digests(manifests: ManifestSet) -> dict[str, str | None]:
    """Each Dataset's content digest as the dataset checks left it (what spec hashes depend on)."""
    dataset = Kind.DATASET
    return {
        r.address: (r.content.digest if r.content is not None else None)
        for r in manifests
        if r.kind is dataset
    }


def load_context(
    paths: Iterable[str | os.PathLike[str]],
    patches: Iterable[str | os.PathLike[str]],
    cwd: str,
    check_data: bool,
) -> str:
    """The key's part that is not the files: the arguments and the code."""
    parts = [
        code_fingerprint(),
        os.path.realpath(cwd),
        repr([os.fspath(p) for p in paths]),
        repr([os.fspath(p) for p in patches]),
        repr(check_data),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def code_fingerprint() -> str:
    """This Python, pydantic, PyYAML, this package's source files and the installed plugins."""
    global _code
    if _code is None:
        import pydantic
        import pydantic_core

        parts = [
            sys.version,
            str(pickle.HIGHEST_PROTOCOL),
            pydantic.VERSION,
            pydantic_core.__version__,
            parse_cache.fingerprint(),
            _package_files(Path(__file__).resolve().parent.parent),
        ]
        for name, point in plugin_discovery.registered().items():
            # the entry point and, outside this package, its module's file (not the distribution's
            # version: reading its metadata costs more than the whole check, and an editable install
            # keeps its version through every edit)
            parts.append(f"{name}={point.value}")
            module = point.value.partition(":")[0]
            if not module.startswith("reconciler."):  # this package's own files are counted above
                parts.append(_module_identity(module))
        _code = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return _code


def _package_files(root: Path) -> str:
    """Every `.py` file under `root` by path, size and mtime (a reinstall or an edit changes one)."""
    found: list[str] = []
    pending = [str(root)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    pending.append(entry.path)
            elif entry.name.endswith(".py"):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                found.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}")
    found.sort()
    return hashlib.sha256("\n".join(found).encode()).hexdigest()


def _module_identity(module: str) -> str:
    """A plugin module's file by path, size and mtime, found without importing the module itself."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        st = os.stat(origin) if origin else None
    except (ImportError, ValueError, OSError):
        return f"{module}:?"
    return f"{module}:{origin}:{st.st_size}:{st.st_mtime_ns}" if st else f"{module}:none"


def _allowed_modules() -> tuple[str, ...]:
    prefixes = ["reconciler."]
    for point in plugin_discovery.registered().values():
        top = point.value.partition(":")[0].partition(".")[0]
        prefixes.append(top + ".")
    return tuple(prefixes)


def models_only_loads(payload: bytes) -> Any:
    """Unpickle what only this package's (and the plugins') models, dataclasses and enums make up
    (also the refresh hint's reader, `refresh_ahead.py`): anything else raises UnpicklingError."""
    return _ModelsOnly(io.BytesIO(payload)).load()


class _ModelsOnly(pickle.Unpickler):
    """Builds model classes, dataclasses and enums of this package and its plugins; nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if not (module + ".").startswith(_allowed_modules()):
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a load memo")
        found = super().find_class(module, name)
        if isinstance(found, type) and (_is_model(found) or found is Positions):
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a load memo")


def _is_model(cls: type) -> bool:
    from pydantic import BaseModel

    return issubclass(cls, (BaseModel, enum.Enum)) or dataclasses.is_dataclass(cls)


def _without_content(manifests: ManifestSet) -> ManifestSet:
    """A copy whose resources are as the loader built them: no dataset content, nothing cached."""
    resources = {
        address: dataclasses.replace(resource, content=None)
        for address, resource in manifests.resources.items()
    }
    return ManifestSet(
        root=manifests.root,
        providers=dict(manifests.providers),
        resources=resources,
        files=list(manifests.files),
    )


def derive(
    manifests: ManifestSet, order: Callable[[], list[str]], hashes: Callable[[], Mapping[str, str]]
) -> Derived:
    return Derived(list(order()), dict(hashes()), dataset_digests(manifests))
