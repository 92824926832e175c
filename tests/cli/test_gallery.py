"""`reconciler output --gallery DIR`: the page opens in real headless chromium and every media
element loads; earlier LoRA versions stay beside the new one; everything shown is escaped.

The browser test needs Debian's chromium (`apt-get install -y chromium`, done by `.ci/run`) and
the `playwright` package (a test dependency) driving it through `executable_path`. Outside CI
(`CI` unset) it is skipped when either is missing; in CI it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig
from reconciler.render.gallery_html import Gallery, Media, SampleShot, render_gallery
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _browser_or_skip() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if missing:
        if IN_CI:
            pytest.fail(
                f"the gallery browser test cannot run in CI: missing {', '.join(missing)}", pytrace=False
            )
        pytest.skip(f"missing {', '.join(missing)}")


def _open_in_chromium(page: Path) -> dict:
    """Load the page; wait for every video to have data; report each media element and any failed request."""
    from playwright.sync_api import sync_playwright

    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            tab.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            tab.on(
                "response", lambda r: failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None
            )
            tab.goto(page.as_uri(), wait_until="load")
            tab.wait_for_function(
                "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2 || v.error)",
                timeout=30_000,
            )
            report = tab.evaluate(
                """() => ({
                    images: [...document.images].map(i => ({src: i.getAttribute('src'), w: i.naturalWidth, ok: i.complete})),
                    videos: [...document.querySelectorAll('video')].map(v => ({
                        src: v.getAttribute('src'), ready: v.readyState, w: v.videoWidth, error: v.error && v.error.code})),
                    scripts: document.querySelectorAll('script').length,
                    text: document.body.innerText,
                })"""
            )
        finally:
            browser.close()
    report["failed"] = failed
    return report


def _workspace(root: Path, clock: FakeClock, sandbox: Sandbox) -> Workspace:
    return Workspace([root], clock=clock, wiring=WiringContext(env={}, clock=clock, sandbox=sandbox))


DASHSCOPE_SAMPLE = """apiVersion: reconciler/v1
kind: Sample
metadata:
  name: money-rain-street
spec:
  provider: dashscope
  deployment: money-rain
  img_url: https://example.com/street.png
"""


def _applied(
    example: str,
    tmp_path: Path,
    name: str,
    faults: FaultConfig | None = None,
    extra: dict[str, str] | None = None,
):
    root = tmp_path / name
    shutil.copytree(REPO / example, root, ignore=shutil.ignore_patterns(".reconciler"))
    for filename, text in (extra or {}).items():
        (root / filename).write_text(text)
    clock = FakeClock()
    sandbox = Sandbox(clock=clock, seed=7, fidelity="documented", faults=faults or FaultConfig())
    _, result = _workspace(root, clock, sandbox).apply()
    assert result.ok, result.outcomes
    return root, clock, sandbox


def _assert_all_media_loaded(report: dict, *, images: int, videos: int) -> None:
    assert report["failed"] == []
    assert len(report["images"]) == images and len(report["videos"]) == videos, report
    assert all(i["ok"] and i["w"] > 0 for i in report["images"]), report["images"]
    assert all(v["ready"] >= 2 and v["w"] > 0 and v["error"] is None for v in report["videos"]), report[
        "videos"
    ]
    assert all(
        not (m["src"] or "").startswith(("http:", "https:")) for m in report["images"] + report["videos"]
    )


def test_the_wavespeed_gallery_shows_each_lora_versions_samples_in_chromium(tmp_path: Path) -> None:
    _browser_or_skip()
    root, clock, sandbox = _applied("manifests/examples/wavespeed", tmp_path, "ws")
    gallery = tmp_path / "gallery"
    first = _workspace(root, clock, sandbox).write_gallery(gallery)
    assert (first.samples, first.downloaded, first.failed) == (2, 2, [])

    # a retrain renders the Wan sample again: the page then shows both LoRA versions side by side
    text = (root / "product-shots.yaml").read_text().replace("steps: 1000", "steps: 1200")
    (root / "product-shots.yaml").write_text(text)
    _, result = _workspace(root, clock, sandbox).apply()
    assert result.ok, result.outcomes
    second = _workspace(root, clock, sandbox).write_gallery(gallery)
    assert (second.samples, second.downloaded) == (3, 1)

    report = _open_in_chromium(second.page)
    _assert_all_media_loaded(report, images=1, videos=2)
    assert report["scripts"] == 0
    records = _workspace(root, clock, sandbox).records()
    new_version = records["FineTune/product-shots"].remote_id
    assert f"LoRA {new_version} (current)" in report["text"]
    history = json.loads((gallery / "gallery.json").read_text())
    assert sorted(h["address"] for h in history) == [
        "Sample/product-shots-recolor",
        "Sample/product-shots-turntable",
        "Sample/product-shots-turntable",
    ]


def test_the_dashscope_gallery_shows_validation_previews_per_checkpoint_in_chromium(tmp_path: Path) -> None:
    _browser_or_skip()
    # the newest checkpoint's preview failed: it is not listed, so not shown
    root, clock, sandbox = _applied(
        "manifests/quickstart",
        tmp_path,
        "qs",
        FaultConfig(fail_previews=1),
        {"sample.yaml": DASHSCOPE_SAMPLE},
    )
    report_ = _workspace(root, clock, sandbox).write_gallery(tmp_path / "gallery")
    assert report_.failed == [] and report_.samples == 1
    page = report_.page.read_text()
    assert "checkpoint-300" in page and "checkpoint-600" in page and "checkpoint-900" not in page
    report = _open_in_chromium(report_.page)
    # 12 samples, split 0.9 → min(int(12 × 0.1), 5) = 1 validation sample per checkpoint, 2 checkpoints;
    # plus the deployed model's render
    _assert_all_media_loaded(report, images=2, videos=3)


def test_expired_media_is_reported_not_shown_broken(tmp_path: Path) -> None:
    root, clock, sandbox = _applied("manifests/examples/wavespeed", tmp_path, "ws")
    clock.advance(8 * 24 * 3600)  # WaveSpeed output URLs are kept 7 days
    report = _workspace(root, clock, sandbox).write_gallery(tmp_path / "late")
    assert report.downloaded == 0 and len(report.failed) == 2
    page = report.page.read_text()
    assert "<video" not in page and "<img" not in page
    assert page.count('class="missing"') == 2


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs


NASTY = [
    "<script>alert(1)</script>",
    '" onerror="alert(1)',
    "' onload='x",
    "</td></tr></table><img src=x>",
    "&amp; ü 漢",
]


@pytest.mark.parametrize("nasty", NASTY)
def test_everything_shown_is_escaped(nasty: str) -> None:
    shot = SampleShot(
        address=f"Sample/{nasty}",
        prompt=nasty,
        model=nasty,
        fine_tune=f"FineTune/{nasty}",
        lora_version=nasty,
        prediction_id=nasty,
        spec={"prompt": nasty},
        media=(
            Media("image", f"media/{nasty}.png", sha256="ab" * 32),
            Media("video", None, url=f"javascript:{nasty}", note=nasty),
        ),
    )
    page = render_gallery(Gallery(title=nasty, generated_at=nasty, samples=(shot,)))
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert parsed.tags.count("img") == 1 and "a" not in parsed.tags  # a javascript: URL is never linked
    assert not any(name.startswith("on") for name, _ in parsed.attrs)


def test_a_gallery_directory_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    from reconciler.workspace import WorkspaceError

    root, clock, sandbox = _applied("manifests/examples/wavespeed", tmp_path, "ws")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(WorkspaceError, match="cannot write the gallery to .*a-file/gallery"):
        _workspace(root, clock, sandbox).write_gallery(blocker / "gallery")
