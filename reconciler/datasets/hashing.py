"""A dataset's identity: the hash of its content, not of its path (DESIGN.md §2).

digest = sha256 over the sorted lines `"<relative posix name>\\0<sha256 hex of bytes>\\n"`. It is the
same for a folder and for a zip holding the same files, and does not change with file order,
modification times or where the folder lives. Files are streamed, never loaded whole.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from reconciler.datasets.sources import DatasetSource, open_source
from reconciler.models.kinds import ProviderType
from reconciler.models.resources import DatasetContent

DASHSCOPE_ANNOTATIONS = "data.jsonl"
MEDIA_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".mp4", ".mov"})


def digest_of(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}\0{files[name]}\n".encode())
    return h.hexdigest()


def file_hashes(source: DatasetSource) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for name in source.names():
        h = hashlib.sha256()
        for chunk in source.chunks(name):
            h.update(chunk)
        hashes[name] = h.hexdigest()
    return hashes


def count_samples(source: DatasetSource, provider: ProviderType | None) -> int:
    """Training samples: data.jsonl lines for DashScope, media files otherwise."""
    if provider is ProviderType.DASHSCOPE:
        if DASHSCOPE_ANNOTATIONS not in source.names():
            return 0
        count = 0
        with source.open(DASHSCOPE_ANNOTATIONS) as fh:
            for line in fh:
                if line.strip():
                    count += 1
        return count
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
