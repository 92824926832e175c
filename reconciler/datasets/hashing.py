"""A dataset's identity: the hash of its content, not of its path (DESIGN.md §2).

digest = sha256 over the sorted lines `"<relative posix name>\\0<sha256 hex of bytes>\\n"`. It is the
same for a folder and for a zip holding the same files, and does not change with file order,
modification times or where the folder lives. Files are streamed, never loaded whole (except an
annotations file `sources.KEEP` names, kept for the layout check so that it is not read twice).

The same read also yields each file's `FileFacts` (format, image size, UTF-8 or not), so the
layout checks that follow ask nothing of the disk; `content_cache.py` remembers both.
"""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

from reconciler.datasets.media import image_size, sniff
from reconciler.datasets.rules import rules_for
from reconciler.datasets.sources import (
    HEAD_BYTES,
    KEEP,
    MAX_KEPT_BYTES,
    DatasetSource,
    FileFacts,
    open_source,
)
from reconciler.models.kinds import ProviderType
from reconciler.models.resources import DatasetContent

MEDIA_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".mp4", ".mov"})


def digest_of(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}\0{files[name]}\n".encode())
    return h.hexdigest()


def hash_file(source: DatasetSource, name: str) -> FileFacts:
    """Read `name` once: its sha256 and facts (a `KEEP` file's bytes stay in `source.kept`)."""
    kept = source.kept.get(name)
    whole = kept if kept is not None else source.read_small(name)
    if whole is not None:
        facts = facts_of(whole)
        source.facts[name] = facts
        if kept is None and name in KEEP and source.size(name) <= MAX_KEPT_BYTES:
            source.kept[name] = whole
        return facts
    return _hash_streamed(source, name)


def facts_of(data: bytes) -> FileFacts:
    """The `FileFacts` of one file's whole content (what `_hash_streamed` computes chunk by chunk)."""
    if data.isascii():  # ASCII is UTF-8: no decoded copy of a text file is made to say so
        utf8 = True
    else:
        try:
            data.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            utf8 = False
    head = data[:HEAD_BYTES]
    fmt = sniff(head)
    return FileFacts(hashlib.sha256(data).hexdigest(), fmt, image_size(head, fmt) if fmt else None, utf8)


def _hash_streamed(source: DatasetSource, name: str) -> FileFacts:
    """A large file (or a zip's entry), in chunks: never whole in memory unless it is `KEEP`."""
    h = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    head = b""
    parts: list[bytes] | None = [] if name in KEEP and source.size(name) <= MAX_KEPT_BYTES else None
    for chunk in source.chunks(name):
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        h.update(chunk)
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
        if parts is not None:
            parts.append(chunk)
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    fmt = sniff(head)
    facts = FileFacts(h.hexdigest(), fmt, image_size(head, fmt) if fmt else None, utf8)
    source.facts[name] = facts
    if parts is not None:
        source.kept[name] = b"".join(parts)
    return facts


def file_hashes(source: DatasetSource) -> dict[str, str]:
    """sha256 of every file not already in `source.facts` (which the same read fills in)."""
    hashes: dict[str, str] = {}
    for name in source.names():
        known = source.facts.get(name)
        hashes[name] = (known or hash_file(source, name)).sha256
    return hashes


def count_samples(source: DatasetSource, provider: ProviderType | None) -> int:
    """Training samples, as the provider's dataset rules count them; media files by default."""
    rules = rules_for(provider)
    counted = rules.count_samples(source) if rules is not None else None
    if counted is not None:
        return counted
    return sum(1 for n in source.names() if Path(n).suffix.lower() in MEDIA_EXTENSIONS)


def content_of_source(source: DatasetSource, provider: ProviderType | None = None) -> DatasetContent:
    files = file_hashes(source)
    return DatasetContent(
        digest=digest_of(files),
        files=files,
        sample_count=count_samples(source, provider),
        total_bytes=sum(source.size(n) for n in files),
    )


def content_of(path: str | Path, provider: ProviderType | None = None) -> DatasetContent:
    """Hash a dataset folder or zip. Raises `DatasetError` when it cannot be read safely."""
    with open_source(path) as source:
        return content_of_source(source, provider)
