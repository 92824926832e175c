"""DashScope Wan LoRA dataset layout (providers.md §1.9), checked offline before upload.

- `data.jsonl` at the top level (≤20 MB), one JSON object per line with `prompt`,
  `first_frame_path`, `video_path`, plus `last_frame_path` for first+last-frame (kf2v) models.
- Validation sets have the same layout without videos.
- Referenced files exist; images BMP/JPEG/PNG/WEBP ≤10 MB and ≤4096×4096; videos MP4/MOV ≤30 MB
  (formats detected by magic bytes); file names English letters, digits, `_` and `-`
  (first-frame datasets are flat; kf2v datasets may use folders such as `image/` and `video/`).
- At least 10 samples (20–100 recommended); the zip at most 1 GB through the API.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from reconciler.datasets.layouts import GB, MB, LayoutReport, human_size, name_list
from reconciler.datasets.media import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, describe
from reconciler.datasets.sources import DatasetSource

ANNOTATIONS = "data.jsonl"
MAX_ZIP_BYTES = 1 * GB
MAX_ANNOTATIONS_BYTES = 20 * MB
MAX_IMAGE_BYTES = 10 * MB
MAX_VIDEO_BYTES = 30 * MB
MAX_SIDE = 4096
MIN_SAMPLES = 10
ALLOWED_IMAGES = frozenset({"bmp", "jpeg", "png", "webp"})
ALLOWED_VIDEOS = frozenset({"mp4", "mov"})

_STEM = re.compile(r"^[A-Za-z0-9_-]+$")
_FILE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)?$")


def check_dashscope_layout(source: DatasetSource, *, kf2v: bool, validation: bool) -> LayoutReport:
    report = LayoutReport()
    names = source.names()
    if source.archive_bytes > MAX_ZIP_BYTES:
        what = "the zip is" if source.is_zip else "the files add up to"
        report.error(
            f"{what} {human_size(source.archive_bytes)}; DashScope accepts at most 1 GB per dataset zip"
        )
    if ANNOTATIONS not in names:
        nested = [n for n in names if PurePosixPath(n).name == ANNOTATIONS]
        hint = (
            f" (found '{nested[0]}': zip the folder's contents, not the folder)"
            if nested
            else "; add one JSON object per sample"
        )
        report.error(f"{ANNOTATIONS} not found at the top level{hint}")
        return report.finish()
    _check_names(report, names, kf2v)
    if source.size(ANNOTATIONS) > MAX_ANNOTATIONS_BYTES:
        report.error(f"{ANNOTATIONS} is {human_size(source.size(ANNOTATIONS))}; at most 20 MB is accepted")
        return report.finish()
    referenced = _check_annotations(report, source, set(names), kf2v=kf2v, validation=validation)
    if report.sample_count < MIN_SAMPLES:
        report.error(
            f"{ANNOTATIONS} has {report.sample_count} sample{'s' if report.sample_count != 1 else ''}; "
            f"DashScope needs at least {MIN_SAMPLES} (20–100 recommended)"
        )
    unused = [n for n in names if n != ANNOTATIONS and n not in referenced]
    if unused:
        report.warning(f"not referenced by {ANNOTATIONS} (uploaded but unused): {name_list(unused)}")
    return report.finish()


def _check_names(report: LayoutReport, names: list[str], kf2v: bool) -> None:
    nested = [n for n in names if "/" in n]
    if nested and not kf2v:
        report.error(
            f"first-frame (i2v) datasets are flat, but {len(nested)} file{'s are' if len(nested) > 1 else ' is'} "
            f"in folders: {name_list(nested, 3)}; put every file at the top level"
        )
    for name in names:
        parts = name.split("/")
        if "/" in name and not kf2v:
            continue
        if not all(_STEM.match(p) for p in parts[:-1]) or not _FILE.match(parts[-1]):
            report.error(
                f"file name '{name}' may only use English letters, digits, '_' and '-' "
                f"(plus '.' before the extension{' and / between folders' if kf2v else ''})"
            )


class _LineProblems:
    """Problems per data.jsonl line, grouped so one mistake on 500 lines is one message."""

    def __init__(self) -> None:
        self.lines: dict[str, list[int]] = {}

    def add(self, line: int, message: str) -> None:
        self.lines.setdefault(message, []).append(line)

    def emit(self, report: LayoutReport, *, warning: bool = False) -> None:
        for message, lines in self.lines.items():
            label = f"line {lines[0]}" if len(lines) == 1 else f"lines {_ranges(lines)}"
            (report.warning if warning else report.error)(f"{ANNOTATIONS} {label}: {message}")


def _ranges(numbers: list[int], limit: int = 6) -> str:
    spans: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        spans.append(str(start) if start == prev else f"{start}–{prev}")
        if n is not None:
            start = prev = n
    text = ", ".join(spans[:limit])
    return text + (f" and {len(spans) - limit} more" if len(spans) > limit else "")


def _check_annotations(
    report: LayoutReport, source: DatasetSource, names: set[str], *, kf2v: bool, validation: bool
) -> set[str]:
    required = ["prompt", "first_frame_path"]
    if kf2v:
        required.append("last_frame_path")
    if not validation:
        required.append("video_path")
    known = {"prompt", "first_frame_path", "last_frame_path", "video_path"}
    checked: dict[
        tuple[str, str], str | None
    ] = {}  # (path, media kind) -> problem, so each file is read once
    referenced: set[str] = set()
    problems, notes = _LineProblems(), _LineProblems()
    with source.open(ANNOTATIONS) as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            report.sample_count += 1
            record = _parse_line(problems, raw, number)
            if record is None:
                continue
            for key in required:
                if key not in record:
                    problems.add(number, f"'{key}' is missing")
            if validation and "video_path" in record:
                problems.add(number, "validation datasets have no videos; remove 'video_path'")
            if not kf2v and "last_frame_path" in record:
                problems.add(number, "'last_frame_path' is only for first+last-frame (kf2v) models")
            extra = sorted(set(record) - known)
            if extra:
                notes.add(number, f"unknown keys {name_list(extra)} are ignored by DashScope")
            prompt = record.get("prompt")
            if "prompt" in record and (not isinstance(prompt, str) or not prompt.strip()):
                problems.add(number, "'prompt' must be a non-empty string")
            for key in ("first_frame_path", "last_frame_path", "video_path"):
                if key not in record or (key == "video_path" and validation):
                    continue
                kind = "video" if key == "video_path" else "image"
                ref = record[key]
                if not isinstance(ref, str) or not ref:
                    problems.add(number, f"'{key}' must be a file name inside the dataset")
                    continue
                if ref not in names:
                    problems.add(number, f"{key} '{ref}' not found in the dataset")
                    continue
                referenced.add(ref)
                if (ref, kind) not in checked:
                    checked[(ref, kind)] = _media_problem(source, ref, kind)
                problem = checked[(ref, kind)]
                if problem:
                    problems.add(number, f"{key} '{ref}' {problem}")
    problems.emit(report)
    notes.emit(report, warning=True)
    return referenced


def _parse_line(problems: _LineProblems, raw: bytes, number: int) -> dict[str, Any] | None:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        problems.add(number, "not UTF-8 text")
        return None
    except json.JSONDecodeError as exc:
        problems.add(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
        return None
    if not isinstance(record, dict):
        problems.add(number, 'must be a JSON object like {"prompt": ..., "first_frame_path": ...}')
        return None
    return record


@lru_cache(maxsize=4096)
def _extension(name: str) -> str:
    """`PurePosixPath(name).suffix.lower()`, once per name: datasets repeat their file names, and a
    path object per referenced file was a tenth of a layout check."""
    return PurePosixPath(name).suffix.lower()


def _media_problem(source: DatasetSource, name: str, kind: str) -> str | None:
    """Why `name` is not an acceptable image/video for DashScope, or None."""
    ext = _extension(name)
    fmt, dims = source.media_info(name)
    size = source.size(name)
    if kind == "image":
        if fmt not in ALLOWED_IMAGES:
            return f"is {describe(fmt)}; first/last frames must be BMP, JPEG, PNG or WEBP images"
        if ext not in IMAGE_EXTENSIONS:
            return f"is {describe(fmt)} but named '{ext or '(no extension)'}'; use .bmp, .jpg, .jpeg, .png or .webp"
        if size > MAX_IMAGE_BYTES:
            return f"is {human_size(size)}; images may be at most 10 MB"
        if dims and (dims[0] > MAX_SIDE or dims[1] > MAX_SIDE):
            return f"is {dims[0]}x{dims[1]}; images may be at most {MAX_SIDE}x{MAX_SIDE}"
        return None
    if fmt not in ALLOWED_VIDEOS:
        return f"is {describe(fmt)}; videos must be MP4 or MOV"
    if ext not in VIDEO_EXTENSIONS:
        return f"is {describe(fmt)} but named '{ext or '(no extension)'}'; use .mp4 or .mov"
    if size > MAX_VIDEO_BYTES:
        return f"is {human_size(size)}; videos may be at most 30 MB"
    return None


class DashScopeDatasetRules:
    """DashScope's dataset rules for the loader (its plugin names `RULES`; `datasets.rules`).

    A dataset's layout depends on the base model of the FineTune that trains on it (i2v or kf2v)
    and on whether it is a training or validation set. Usage: ("dashscope", format, role).
    """

    def usage(
        self, fine_tune: object, field_path: str, dataset_name: str, dataset_spec: object
    ) -> tuple[tuple[str, ...] | None, list[str]]:
        problems: list[str] = []
        wanted_role = "validation" if field_path.startswith("validation_datasets") else "training"
        model_format = str(getattr(fine_tune, "format"))  # noqa: B009 - a DashScope FineTune spec
        declared_format = getattr(dataset_spec, "format", None)
        role = getattr(dataset_spec, "role", "training")
        ok = True
        if declared_format is not None and declared_format != model_format:
            ok = False
            problems.append(
                f"Dataset '{dataset_name}' has format: {declared_format}, but "
                f"{getattr(fine_tune, 'model')} trains on {model_format} data"  # noqa: B009
                f"{' (first + last frame)' if model_format == 'kf2v' else ' (first frame)'}"
            )
        if role != wanted_role:
            ok = False
            problems.append(
                f"Dataset '{dataset_name}' has role: {role}; "
                + (
                    "set role: validation on it to use it as a validation set (no videos)"
                    if wanted_role == "validation"
                    else "a validation set cannot be trained on; list it under validation_datasets"
                )
            )
        usage = ("dashscope", declared_format or model_format, role) if ok or declared_format else None
        return usage, problems

    def default_usage(self, dataset_spec: object) -> tuple[str, ...] | None:
        return (
            "dashscope",
            getattr(dataset_spec, "format", None) or "i2v",
            getattr(dataset_spec, "role", "training"),
        )

    def check_layout(self, source: DatasetSource, usage: tuple[str, ...]) -> LayoutReport:
        return check_dashscope_layout(source, kf2v=usage[1] == "kf2v", validation=usage[2] == "validation")

    def count_samples(self, source: DatasetSource) -> int | None:
        """The non-empty lines of `data.jsonl` (0 without one)."""
        if ANNOTATIONS not in source.names():
            return 0
        count = 0
        with source.open(ANNOTATIONS) as fh:
            for line in fh:
                if line.strip():
                    count += 1
        return count


RULES = DashScopeDatasetRules()
