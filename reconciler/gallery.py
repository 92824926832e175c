"""`reconciler output --gallery DIR`: collect the samples and validation previews, download their
media next to the page, and write `DIR/index.html` (rendered by `render.gallery_html`).

Why downloads and a history file: provider media URLs expire (WaveSpeed outputs after 7 days,
DashScope previews after 24 h), and a re-render replaces a Sample's prediction. So every file is
fetched into `DIR/media/` (its sha256 shown on the page), and `DIR/gallery.json` remembers each
render the gallery has seen: after a retrain, the previous LoRA version's samples stay in the
page beside the new ones. Nothing here writes the state; a failed download is shown as such,
never as a broken image.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.models.state import ResourceRecord
from reconciler.providers.errors import ProviderError
from reconciler.providers.interface import MEDIA_OUTPUT_KEYS, DownloadsOutputs, ShowsValidationPreviews
from reconciler.render.gallery_html import (
    CheckpointPreviews,
    Gallery,
    Media,
    Preview,
    SampleShot,
    render_gallery,
)

HISTORY_FILE = "gallery.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class GalleryReport:
    page: Path
    samples: int = 0  # renders on the page (current and earlier)
    previews: int = 0  # validation preview videos on the page
    downloaded: int = 0
    failed: list[str] = field(default_factory=list)  # what could not be fetched, and why


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("._") or "x"


def _ext(url: str, default: str) -> str:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return ext if ext and ext.isalnum() and len(ext) <= 5 else default


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


class _Fetcher:
    def __init__(self, root: Path, adapters: Mapping[str, Any], report: GalleryReport) -> None:
        self.root = root
        self.adapters = adapters
        self.report = report

    def fetch(self, provider: str, url: str, relative: str, kind: str, known_sha: str | None = None) -> Media:
        target = self.root / relative
        if target.exists() and (known_sha is None or _sha256(target) == known_sha):
            return Media(kind, relative, url, _sha256(target))
        adapter = self.adapters.get(provider)
        if not isinstance(adapter, DownloadsOutputs):
            return Media(kind, None, url, note=f"provider '{provider}' cannot download media")
        try:
            _, sha = adapter.download(url, str(target))
        except ProviderError as exc:
            why = f"not downloaded: {exc}"
            self.report.failed.append(f"{relative}: {exc}")
            return Media(kind, None, url, note=why)
        self.report.downloaded += 1
        return Media(kind, relative, url, sha)


def _shots(records: Mapping[str, ResourceRecord], fetch: _Fetcher) -> list[SampleShot]:
    out = []
    for rec in sorted(records.values(), key=lambda r: r.address):
        if rec.kind != "Sample" or not rec.remote_id:
            continue
        kind = "video" if rec.outputs.get("media_type") == "video" else "image"
        downloads = rec.outputs.get("downloads") or {}
        media = []
        for key in MEDIA_OUTPUT_KEYS:
            url = rec.outputs.get(key)
            if not isinstance(url, str):
                continue
            relative = f"media/samples/{_safe(rec.name)}/{_safe(rec.remote_id)}-{key}.{_ext(url, 'bin')}"
            known = (downloads.get(key) or {}).get("sha256")
            media.append(fetch.fetch(rec.provider, url, relative, kind, known))
        (fine_tune, version), *_ = list((rec.built_from or {}).items()) or [("(unknown)", "(unknown)")]
        spec = dict(rec.spec or {})
        out.append(
            SampleShot(
                address=rec.address,
                prompt=str(spec.get("prompt", "")),
                model=str(spec.get("model", "")),
                fine_tune=fine_tune,
                lora_version=version,
                prediction_id=rec.remote_id,
                spec=spec,
                media=tuple(media),
            )
        )
    return out


def _earlier(directory: Path, current: list[SampleShot]) -> list[SampleShot]:
    """Renders an earlier gallery showed that are no longer current (their files are still here)."""
    path = directory / HISTORY_FILE
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    seen = {(s.address, s.prediction_id) for s in current}
    out = []
    for row in rows if isinstance(rows, list) else []:
        try:
            media = tuple(Media(**m) for m in row.pop("media"))
            shot = SampleShot(**{**row, "media": media, "current": False})
        except (KeyError, TypeError):
            continue
        if (shot.address, shot.prediction_id) in seen:
            continue
        kept = tuple(
            m if m.src and (directory / m.src).exists() else Media(m.kind, None, m.url, note="file removed")
            for m in media
        )
        out.append(SampleShot(**{**asdict(shot), "media": kept, "current": False}))
    return out


def _checkpoints(
    records: Mapping[str, ResourceRecord], adapters: Mapping[str, Any], fetch: _Fetcher, report: GalleryReport
) -> list[CheckpointPreviews]:
    out = []
    for rec in sorted(records.values(), key=lambda r: r.address):
        adapter = adapters.get(rec.provider)
        if rec.kind != "FineTune" or not rec.remote_id or not isinstance(adapter, ShowsValidationPreviews):
            continue
        try:
            by_checkpoint = adapter.validation_previews(rec)
        except ProviderError as exc:
            report.failed.append(f"{rec.address}: validation previews: {exc}")
            continue
        for checkpoint, items in by_checkpoint.items():
            previews = []
            for i, item in enumerate(items, 1):
                base = f"media/previews/{_safe(rec.remote_id)}/{_safe(checkpoint)}/validation_{i}"
                video_url = item.get("video_path")
                video = (
                    fetch.fetch(rec.provider, video_url, f"{base}.{_ext(video_url, 'mp4')}", "video")
                    if isinstance(video_url, str)
                    else Media("video", None, note="no video_path")
                )
                frame_url = item.get("first_frame_path")
                frame = (
                    fetch.fetch(
                        rec.provider, frame_url, f"{base}-first-frame.{_ext(frame_url, 'png')}", "image"
                    )
                    if isinstance(frame_url, str)
                    else None
                )
                previews.append(Preview(str(item.get("prompt") or ""), video, frame))
            report.previews += len(previews)
            out.append(
                CheckpointPreviews(
                    rec.address, rec.remote_id, checkpoint, tuple(previews), dict(rec.spec or {})
                )
            )
    return out


def write_gallery(
    records: Mapping[str, ResourceRecord],
    adapters: Mapping[str, Any],
    directory: str | Path,
    *,
    title: str,
    generated_at: str,
) -> GalleryReport:
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    report = GalleryReport(page=root / "index.html")
    fetch = _Fetcher(root, adapters, report)
    current = _shots(records, fetch)
    shots = _earlier(root, current) + current
    checkpoints = _checkpoints(records, adapters, fetch, report)
    report.samples = len(shots)
    page = render_gallery(Gallery(title, generated_at, tuple(shots), tuple(checkpoints)))
    history = [{**asdict(s), "current": False} for s in shots]
    (root / HISTORY_FILE).write_text(json.dumps(history, indent=2, sort_keys=True), encoding="utf-8")
    report.page.write_text(page, encoding="utf-8")
    return report
