"""The gallery page: each LoRA version's samples and each checkpoint's validation previews, side by side.

Pure: data in, one self-contained HTML string out (no script, no external asset). Every text and
attribute value is escaped here, once; media sources are relative paths to files beside the
page (quoted), or — where a download was not possible — an http(s) link, never an arbitrary
scheme. `reconciler.gallery` collects the data and downloads the media.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class Media:
    kind: str  # "video" | "image"
    src: str | None  # a path relative to the page; None when the file could not be fetched
    url: str | None = None  # where it came from (shown as a link when there is no local copy)
    sha256: str | None = None
    note: str | None = None  # e.g. "expired: the provider no longer serves it"


@dataclass(frozen=True)
class SampleShot:
    """One render of one Sample with one LoRA version."""

    address: str
    prompt: str
    model: str
    fine_tune: str  # the FineTune's address
    lora_version: str  # the FineTune's remote id when rendered (built_from)
    prediction_id: str
    spec: Mapping[str, Any]
    media: tuple[Media, ...]
    current: bool = True  # still the Sample's render in state (else: kept from an earlier gallery)


@dataclass(frozen=True)
class Preview:
    prompt: str
    video: Media
    frame: Media | None = None


@dataclass(frozen=True)
class CheckpointPreviews:
    fine_tune: str  # address
    job_id: str
    checkpoint: str
    previews: tuple[Preview, ...]
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Gallery:
    title: str
    generated_at: str
    samples: tuple[SampleShot, ...] = ()
    checkpoints: tuple[CheckpointPreviews, ...] = ()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _src(path: str) -> str:
    return quote(path, safe="/")


def _safe_link(url: str | None) -> str | None:
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _media(m: Media, label: str) -> str:
    if m.src is not None:
        src = _e(_src(m.src))
        sha = f' data-sha256="{_e(m.sha256)}"' if m.sha256 else ""
        if m.kind == "video":
            element = f'<video src="{src}" controls muted loop playsinline preload="auto"{sha} title="{_e(label)}"></video>'
        else:
            element = f'<img src="{src}" alt="{_e(label)}"{sha}>'
        digest = f'<div class="sha">sha256 {_e(m.sha256[:16])}…</div>' if m.sha256 else ""
        return element + digest
    link = _safe_link(m.url)
    note = _e(m.note or "not downloaded")
    return (
        f'<div class="missing">{note}'
        + (f' — <a href="{_e(link)}">original URL</a>' if link else "")
        + "</div>"
    )


def _spec(spec: Mapping[str, Any]) -> str:
    text = json.dumps(dict(spec), indent=2, sort_keys=True, ensure_ascii=False)
    return f"<details><summary>spec</summary><pre>{_e(text)}</pre></details>"


def _step(checkpoint: str) -> int:
    tail = checkpoint.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _samples_section(shots: tuple[SampleShot, ...]) -> str:
    if not shots:
        return "<p>No samples yet: declare a <code>kind: Sample</code> and apply it.</p>"
    out = []
    for fine_tune in sorted({s.fine_tune for s in shots}):
        group = [s for s in shots if s.fine_tune == fine_tune]
        versions: list[str] = []
        for s in sorted(group, key=lambda s: s.current):  # earlier versions first, the current last
            if s.lora_version not in versions:
                versions.append(s.lora_version)
        head = "".join(
            f'<th scope="col">LoRA {_e(v)}'
            + (" (current)" if any(s.current and s.lora_version == v for s in group) else "")
            + "</th>"
            for v in versions
        )
        rows = []
        for address in sorted({s.address for s in group}):
            mine = [s for s in group if s.address == address]
            first = mine[-1]
            label = (
                f'<th scope="row"><div class="addr">{_e(address)}</div>'
                f'<div class="prompt">{_e(first.prompt)}</div><div class="model">{_e(first.model)}</div></th>'
            )
            cells = []
            for v in versions:
                hit = next((s for s in mine if s.lora_version == v), None)
                if hit is None:
                    cells.append('<td class="none">—</td>')
                    continue
                media = "".join(_media(m, f"{address} with LoRA {v}") for m in hit.media)
                cells.append(
                    f"<td><figure>{media}<figcaption>prediction {_e(hit.prediction_id)}"
                    f"{_spec(hit.spec)}</figcaption></figure></td>"
                )
            rows.append(f"<tr>{label}{''.join(cells)}</tr>")
        out.append(
            f"<h3>{_e(fine_tune)}</h3><table><thead><tr><th>Sample</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    return "".join(out)


def _checkpoints_section(groups: tuple[CheckpointPreviews, ...]) -> str:
    if not groups:
        return "<p>No validation previews: DashScope makes them for a succeeded fine-tune.</p>"
    out = []
    for key in sorted({(g.fine_tune, g.job_id) for g in groups}):
        mine = sorted(
            (g for g in groups if (g.fine_tune, g.job_id) == key), key=lambda g: _step(g.checkpoint)
        )
        head = "".join(f'<th scope="col">{_e(g.checkpoint)}</th>' for g in mine)
        depth = max(len(g.previews) for g in mine)
        rows = []
        for i in range(depth):
            cells = []
            for g in mine:
                if i >= len(g.previews):
                    cells.append('<td class="none">—</td>')
                    continue
                p = g.previews[i]
                frame = _media(p.frame, f"first frame, {g.checkpoint}") if p.frame else ""
                video = _media(p.video, f"{g.checkpoint} preview {i + 1}")
                cells.append(
                    f'<td><figure>{video}<figcaption><div class="prompt">{_e(p.prompt)}</div>'
                    f'<div class="frame">{frame}</div></figcaption></figure></td>'
                )
            rows.append(f'<tr><th scope="row">preview {i + 1}</th>{"".join(cells)}</tr>')
        spec = _spec(mine[0].spec) if mine[0].spec else ""
        out.append(
            f"<h3>{_e(key[0])} <small>job {_e(key[1])}</small></h3>{spec}"
            f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return "".join(out)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin-bottom:2rem}
th,td{border:1px solid #ccc;padding:.5rem;vertical-align:top;text-align:left}
video,img{max-width:320px;max-height:240px;display:block;background:#eee}
.frame img{max-width:96px}
.addr{font-family:monospace}.prompt{max-width:24rem}.model,.sha{color:#666;font-size:.8rem}
.missing{color:#a00}.none{color:#999;text-align:center}
pre{font-size:.75rem;max-width:28rem;overflow:auto}
"""


def render_gallery(g: Gallery) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(g.title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{_e(g.title)}</h1><p>Generated {_e(g.generated_at)} by <code>reconciler output --gallery</code>.</p>"
        f"<h2>Samples, per LoRA version</h2>{_samples_section(g.samples)}"
        f"<h2>Validation previews, per checkpoint</h2>{_checkpoints_section(g.checkpoints)}"
        "</body></html>\n"
    )
