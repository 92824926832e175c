"""A local dataset's content identity and layout results, reading only what changed.

One call per dataset: scan the folder once (one `lstat` per file), then
- every file's StatKey matches the content cache and none is racily clean → the cached digest
  and layout results; no file is opened;
- otherwise → files whose StatKey still matches keep their cached sha256 and facts, the others
  are read exactly once (hash, facts, and an annotations file kept in memory), and the
  layout checks run on that same pass; a layout result is reused when the digest is unchanged
  (a `touch`, a copy back of the same bytes).
A `.zip` is one file to the cache: unchanged, it is not opened; changed, it is read again whole.

What it must not do: cache a failure (a link, an unsafe zip, an unreadable file is checked again
on every run), or trust anything the StatKey and racy rule of `content_cache.py` do not vouch for.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.datasets.content_cache import (
    RACY_NS,
    CachedDataset,
    ContentCache,
    pack_facts,
    pack_keys,
)
from reconciler.datasets.hashing import count_samples, digest_of, file_hashes
from reconciler.datasets.layouts import DatasetProblem, LayoutReport
from reconciler.datasets.rules import Usage
from reconciler.datasets.scanning import FolderKeys, Prescanned, ScannedFile, scan_folder_keys, stat_key
from reconciler.datasets.sources import DatasetSource, DirectorySource, ZipSource, open_source
from reconciler.models.diagnostics import Severity
from reconciler.models.kinds import ProviderType
from reconciler.models.resources import DatasetContent

LayoutCheck = Callable[[DatasetSource, Usage], LayoutReport]

# The wall clock a scan is stamped with (the racy rule compares file times with it); tests move it.
now_ns: Callable[[], int] = time.time_ns


@dataclass
class DatasetInspection:
    content: DatasetContent
    layouts: dict[Usage, list[DatasetProblem]] = field(default_factory=dict)
    files_read: int = 0  # how many files this inspection opened (0 when the cache vouched for all)


def inspect_dataset(
    path: str | Path,
    *,
    provider: ProviderType | None = None,
    usages: Iterable[Usage] = (),
    check_layout: LayoutCheck | None = None,
    cache: ContentCache | None = None,
    samples: bool = True,
    prescanned: Prescanned | None = None,
) -> DatasetInspection:
    """Content and layout problems of the folder or zip at `path` (absolute). Raises `DatasetError`.

    `samples=False`: the caller needs only the digest (a cached count may then be -1).
    `prescanned`: this folder's scan taken earlier in this run by a helper process
    (`scanning.prescan_folders`). It is used only to vouch for a clean, cached folder whose
    answer is complete; anything else (a change, a racily clean file, a new usage) scans again here.
    """
    started = now_ns()
    wanted = list(usages)
    key = str(path)  # a Path is made only when a file is read (a Path costs more than a stat here)
    cached = cache.get(key) if cache is not None else None
    if (
        prescanned is not None
        and cached is not None
        and not cached.is_zip
        and cached.names == prescanned[0]
        and cached.keys == prescanned[1]
        and prescanned[2] < cached.scanned_ns - RACY_NS
        and (not samples or _provider_key(provider) in cached.samples)
        and all(u in cached.layouts for u in wanted)
    ):
        return _from_cache(key, cached, provider, wanted, check_layout, cache, None, samples)
    try:  # a folder (the common case) is listed at once: no separate is_dir() stat
        scan: FolderKeys | None = scan_folder_keys(key)
    except (FileNotFoundError, NotADirectoryError):
        if os.path.isdir(key):  # a folder inside vanished while it was listed
            raise
        scan = None
    if scan is not None:
        clean = (
            cached is not None
            and not cached.is_zip
            and cached.names == scan.names
            and cached.keys == scan.packed
        )
        if clean and cached is not None and scan.newest < cached.scanned_ns - RACY_NS:
            return _from_cache(key, cached, provider, wanted, check_layout, cache, scan, samples)
        return _inspect_folder(
            Path(key), scan.files, scan.packed, started, cached, provider, wanted, check_layout, cache
        )
    path = Path(key)
    if not path.exists():
        with open_source(path):  # raises the usual "does not exist"
            pass
    st = os.stat(path)
    packed = pack_keys([stat_key(st)])
    newest = max(st.st_mtime_ns, st.st_ctime_ns)
    if (
        cached is not None
        and cached.is_zip
        and cached.keys == packed
        and newest < cached.scanned_ns - RACY_NS
    ):
        return _from_cache(path, cached, provider, wanted, check_layout, cache, None, samples)
    with open_source(path) as source:
        if not isinstance(source, ZipSource):  # pragma: no cover - open_source raised already
            raise AssertionError(source)
        inspection = _inspect_source(source, provider, wanted, check_layout, None, cache)
        if cache is not None:
            cache.put(key, _entry(source, inspection, packed, started, True, provider))
    return inspection


def content_digest(path: str | Path, cache: ContentCache | None = None) -> str:
    """The content digest now (what apply re-checks before an upload), through the cache."""
    return inspect_dataset(Path(path).resolve(), cache=cache, samples=False).content.digest


def _from_cache(
    path: str | Path,
    cached: CachedDataset,
    provider: ProviderType | None,
    wanted: list[Usage],
    check_layout: LayoutCheck | None,
    cache: ContentCache | None,
    scan: FolderKeys | None,
    need_samples: bool,
) -> DatasetInspection:
    names = cached.name_list()
    samples = cached.samples.get(_provider_key(provider), None if need_samples else -1)
    layouts = {u: _problems(cached.layouts[u]) for u in wanted if u in cached.layouts}
    missing = [u for u in wanted if u not in cached.layouts]
    files_read = 0
    if samples is None or missing:
        # a new usage (or provider) of unchanged content: the cached facts answer all but data.jsonl
        with _cached_source(Path(path), cached, scan.files if scan is not None else None) as source:
            if samples is None:
                samples = cached.samples[_provider_key(provider)] = count_samples(source, provider)
            for usage in missing:
                layouts[usage] = _run(check_layout, source, usage)
                cached.layouts[usage] = _rows(layouts[usage])
            files_read = len(source.opened)
        if cache is not None:
            cache.touch()
    content = DatasetContent(
        digest=cached.digest,
        files=dict(zip(names, cache.shared(cached.sha_list()) if cache else cached.sha_list(), strict=True)),
        sample_count=samples,
        total_bytes=cached.total_bytes,
    )
    return DatasetInspection(content, layouts, files_read)


def _inspect_folder(
    path: Path,
    files: list[ScannedFile],
    packed: bytes,
    started: int,
    cached: CachedDataset | None,
    provider: ProviderType | None,
    wanted: list[Usage],
    check_layout: LayoutCheck | None,
    cache: ContentCache | None,
) -> DatasetInspection:
    source = DirectorySource(path, files)
    if cache is not None and cache.keep_reads:
        source.retained = {}
    reused: CachedDataset | None = None
    if cached is not None and not cached.is_zip:
        # files whose StatKey is unchanged and not racily clean keep their sha256 and facts
        trusted = cached.scanned_ns - RACY_NS
        old = dict(
            zip(cached.name_list(), zip(cached.key_list(), cached.fact_list(), strict=True), strict=True)
        )
        for f in files:
            known = old.get(f.name)
            if known is not None and known[0] == f.key and max(f.key[1], f.key[2]) < trusted:
                source.facts[f.name] = known[1]
        reused = cached
    inspection = _inspect_source(source, provider, wanted, check_layout, reused, cache)
    if cache is not None:
        cache.put(str(path), _entry(source, inspection, packed, started, False, provider))
        if source.retained:
            cache.retained[str(path)] = _pooled(source, cache.retained_pool)
    return inspection


def _inspect_source(
    source: DatasetSource,
    provider: ProviderType | None,
    wanted: list[Usage],
    check_layout: LayoutCheck | None,
    previous: CachedDataset | None,
    cache: ContentCache | None,
) -> DatasetInspection:
    files = file_hashes(source)
    if cache is not None:  # as `_from_cache` gives them: the names interned, equal hashes one string
        files = dict(zip(map(sys.intern, files), cache.shared(list(files.values())), strict=True))
    digest = digest_of(files)
    same = previous is not None and previous.digest == digest  # a touch, or the same bytes put back
    known = previous.samples.get(_provider_key(provider)) if same and previous is not None else None
    content = DatasetContent(
        digest=digest,
        files=files,
        sample_count=known if known is not None else count_samples(source, provider),
        total_bytes=sum(source.size(n) for n in files),
    )
    inspection = DatasetInspection(content)
    for usage in wanted:
        if same and previous is not None and usage in previous.layouts:
            inspection.layouts[usage] = _problems(previous.layouts[usage])
        else:
            inspection.layouts[usage] = _run(check_layout, source, usage)
    inspection.files_read = len(source.opened)
    return inspection


def _pooled(source: DirectorySource, pool: dict[str, bytes]) -> dict[str, bytes]:
    """The bytes `source` read, each one object across datasets when equal (datasets often hold
    copies of the same images): what an apply keeps until its uploads is then unique. Found by
    the sha256 this pass took of them, and compared: never another file's lookalike."""
    out: dict[str, bytes] = {}
    for name, data in (source.retained or {}).items():
        known = pool.setdefault(source.facts[name].sha256, data)
        out[name] = known if known is data or known == data else data
    return out


def _entry(
    source: DatasetSource,
    inspection: DatasetInspection,
    packed: bytes,
    started: int,
    is_zip: bool,
    provider: ProviderType | None,
) -> CachedDataset:
    content = inspection.content
    names = list(content.files)
    facts = [source.facts[n] for n in names]
    return CachedDataset(
        is_zip=is_zip,
        scanned_ns=started,
        names="\0".join(names),
        keys=packed,
        shas="".join(content.files[n] for n in names),
        facts=pack_facts(facts),
        digest=content.digest,
        total_bytes=content.total_bytes,
        samples={_provider_key(provider): content.sample_count},
        layouts={u: _rows(p) for u, p in inspection.layouts.items()},
    )


class _cached_source:  # noqa: N801 - a context manager used like a function
    """A source whose facts come from the cache (folder) or a reopened zip."""

    def __init__(self, path: Path, cached: CachedDataset, files: list[ScannedFile] | None) -> None:
        self.path, self.cached, self.files = path, cached, files
        self.source: DatasetSource | None = None

    def __enter__(self) -> DatasetSource:
        source: DatasetSource = (
            ZipSource(self.path) if self.cached.is_zip else DirectorySource(self.path, self.files)
        )
        source.facts.update(zip(self.cached.name_list(), self.cached.fact_list(), strict=True))
        self.source = source
        return source

    def __exit__(self, *exc: object) -> None:
        if self.source is not None:
            self.source.close()


def _run(check_layout: LayoutCheck | None, source: DatasetSource, usage: Usage) -> list[DatasetProblem]:
    if check_layout is None:
        return []
    return list(check_layout(source, usage).problems)


def _problems(rows: list[tuple[str, str]]) -> list[DatasetProblem]:
    return [DatasetProblem(message, Severity(severity)) for message, severity in rows]


def _rows(problems: list[DatasetProblem]) -> list[tuple[str, str]]:
    return [(p.message, p.severity.value) for p in problems]


def _provider_key(provider: ProviderType | None) -> str:
    return str(provider) if provider is not None else ""  # a plain str: the cache is marshalled


__all__ = ["DatasetInspection", "LayoutCheck", "Usage", "content_digest", "inspect_dataset"]
