"""Local dataset files: content hashing, deterministic zips, archive safety, provider layouts.

File I/O only: no YAML, no HTTP. The loader calls these for every local Dataset.
"""

from __future__ import annotations

from reconciler.datasets.content_cache import ContentCache
from reconciler.datasets.dashscope_layout import check_dashscope_layout
from reconciler.datasets.errors import DatasetError
from reconciler.datasets.hashing import content_of, content_of_source, digest_of
from reconciler.datasets.inspecting import DatasetInspection, content_digest, inspect_dataset
from reconciler.datasets.layouts import DatasetProblem, LayoutReport
from reconciler.datasets.sources import DatasetSource, open_source
from reconciler.datasets.wavespeed_layout import check_wavespeed_layout
from reconciler.datasets.zipping import write_deterministic_zip

__all__ = [
    "ContentCache",
    "DatasetError",
    "DatasetInspection",
    "DatasetProblem",
    "DatasetSource",
    "LayoutReport",
    "check_dashscope_layout",
    "check_wavespeed_layout",
    "content_of",
    "content_digest",
    "content_of_source",
    "digest_of",
    "inspect_dataset",
    "open_source",
    "write_deterministic_zip",
]
