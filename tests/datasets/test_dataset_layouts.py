"""Provider layout rules, one row per rule, with the message asserted."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from reconciler.datasets import check_dashscope_layout, check_wavespeed_layout, open_source
from reconciler.datasets.media import image_size, sniff
from reconciler.models.diagnostics import Severity


def png(w: int = 4, h: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * (3 * w + 1) * h))
    )


MP4 = struct.pack(">I", 16) + b"ftypisom\0\0\0\0"
MOV = struct.pack(">I", 16) + b"ftypqt  \0\0\0\0"
JPEG = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x0b\x08\x00\x20\x00\x40\x03" + b"\0" * 20


def i2v(n: int = 10, **overrides: object) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    lines = []
    for i in range(1, n + 1):
        files[f"image_{i}.png"], files[f"video_{i}.mp4"] = png(), MP4
        lines.append(
            {"prompt": f"p {i}", "first_frame_path": f"image_{i}.png", "video_path": f"video_{i}.mp4"}
        )
    for key, value in overrides.items():
        line, field = key.split("__")
        if value is None:
            del lines[int(line[1:]) - 1][field]
        else:
            lines[int(line[1:]) - 1][field] = value
    files["data.jsonl"] = "".join(json.dumps(x) + "\n" for x in lines).encode()
    return files


def run_dashscope(tmp_path: Path, files: dict[str, bytes], *, kf2v: bool = False, validation: bool = False):
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    with open_source(tmp_path) as source:
        return check_dashscope_layout(source, kf2v=kf2v, validation=validation)


def errors(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.message for p in report.problems if p.severity is Severity.ERROR]


def warnings(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.message for p in report.problems if p.severity is Severity.WARNING]


def test_valid_i2v_dataset(tmp_path: Path) -> None:
    report = run_dashscope(tmp_path, i2v())
    assert report.problems == [] and report.sample_count == 10


def test_valid_kf2v_dataset_with_folders(tmp_path: Path) -> None:
    files: dict[str, bytes] = {}
    lines = []
    for i in range(1, 11):
        files[f"image/{i}_first.png"] = files[f"image/{i}_last.png"] = png()
        files[f"video/{i}.mov"] = MOV
        lines.append(
            {
                "prompt": "p",
                "first_frame_path": f"image/{i}_first.png",
                "last_frame_path": f"image/{i}_last.png",
                "video_path": f"video/{i}.mov",
            }
        )
    files["data.jsonl"] = "\n".join(json.dumps(x) for x in lines).encode()
    assert run_dashscope(tmp_path, files, kf2v=True).problems == []


def test_valid_validation_set_without_videos(tmp_path: Path) -> None:
    files = {
        k: v
        for k, v in i2v(**{f"l{i}__video_path": None for i in range(1, 11)}).items()
        if not k.endswith(".mp4")
    }
    assert run_dashscope(tmp_path, files, validation=True).problems == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {k: v for k, v in i2v().items() if k != "data.jsonl"},
            "data.jsonl not found at the top level; add one JSON object per sample",
        ),
        (i2v(9), "data.jsonl has 9 samples; DashScope needs at least 10 (20–100 recommended)"),
        (i2v(l3__prompt=""), "data.jsonl line 3: 'prompt' must be a non-empty string"),
        (
            i2v(l2__prompt=None, l5__prompt=None, l6__prompt=None),
            "data.jsonl lines 2, 5–6: 'prompt' is missing",
        ),
        (i2v(l1__video_path="v.mp4"), "data.jsonl line 1: video_path 'v.mp4' not found in the dataset"),
        (
            i2v(l1__first_frame_path=3),
            "data.jsonl line 1: 'first_frame_path' must be a file name inside the dataset",
        ),
        (
            i2v(l4__last_frame_path="image_1.png"),
            "data.jsonl line 4: 'last_frame_path' is only for first+last-frame (kf2v) models",
        ),
        (
            {**i2v(), "image_2.png": b"GIF89a" + b"\0" * 30},
            "data.jsonl line 2: first_frame_path 'image_2.png' is a GIF image; first/last frames must be BMP, JPEG, PNG or WEBP images",
        ),
        (
            {**i2v(), "image_2.png": png(5000, 10)},
            "data.jsonl line 2: first_frame_path 'image_2.png' is 5000x10; images may be at most 4096x4096",
        ),
        (
            {**i2v(), "video_7.mp4": b"RIFF\0\0\0\0AVI LIST"},
            "data.jsonl line 7: video_path 'video_7.mp4' is an AVI video; videos must be MP4 or MOV",
        ),
        (
            {**i2v(l1__first_frame_path="image_1.mp4"), "image_1.mp4": png()},
            "data.jsonl line 1: first_frame_path 'image_1.mp4' is a PNG image but named '.mp4'; use .bmp, .jpg, .jpeg, .png or .webp",
        ),
        (
            {**i2v(), "image_1.png": png() + b"\0" * (10 * 1024 * 1024)},
            "data.jsonl line 1: first_frame_path 'image_1.png' is 10.0 MB; images may be at most 10 MB",
        ),
        (
            {**i2v(), "data.jsonl": i2v()["data.jsonl"] + b"{oops\n"},
            "data.jsonl line 11: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        ),
        ({**i2v(), "data.jsonl": i2v()["data.jsonl"] + b"\xff\xfe\n"}, "data.jsonl line 11: not UTF-8 text"),
        (
            {**i2v(), "data.jsonl": i2v()["data.jsonl"] + b"[1]\n"},
            'data.jsonl line 11: must be a JSON object like {"prompt": ..., "first_frame_path": ...}',
        ),
        (
            {**i2v(), "extra/x.png": png()},
            "first-frame (i2v) datasets are flat, but 1 file is in folders: 'extra/x.png'; put every file at the top level",
        ),
        (
            {**i2v(), "my image.png": png()},
            "file name 'my image.png' may only use English letters, digits, '_' and '-' (plus '.' before the extension)",
        ),
        (
            {**i2v(), "图片.png": png()},
            "file name '图片.png' may only use English letters, digits, '_' and '-' (plus '.' before the extension)",
        ),
    ],
)
def test_dashscope_rules(tmp_path: Path, files: dict[str, bytes], expected: str) -> None:
    assert expected in errors(run_dashscope(tmp_path, files))


def test_validation_set_with_videos(tmp_path: Path) -> None:
    report = run_dashscope(tmp_path, i2v(), validation=True)
    assert errors(report) == [
        "data.jsonl lines 1–10: validation datasets have no videos; remove 'video_path'"
    ]


def test_kf2v_needs_last_frames(tmp_path: Path) -> None:
    assert errors(run_dashscope(tmp_path, i2v(), kf2v=True)) == [
        "data.jsonl lines 1–10: 'last_frame_path' is missing"
    ]


def test_oversized_annotations(tmp_path: Path) -> None:
    files = {**i2v(), "data.jsonl": b" " * (20 * 1024 * 1024 + 1)}
    assert errors(run_dashscope(tmp_path, files)) == ["data.jsonl is 20.0 MB; at most 20 MB is accepted"]


def test_unreferenced_files_and_unknown_keys_are_warnings(tmp_path: Path) -> None:
    report = run_dashscope(tmp_path, {**i2v(l2__caption="x"), "notes.md": b"hi"})
    assert errors(report) == []
    assert warnings(report) == [
        "data.jsonl line 2: unknown keys 'caption' are ignored by DashScope",
        "not referenced by data.jsonl (uploaded but unused): 'notes.md'",
    ]


def test_many_problems_are_capped(tmp_path: Path) -> None:
    files = {**i2v(), **{f"bad name {i}.png": png() for i in range(30)}}
    report = errors(run_dashscope(tmp_path, files))
    assert len(report) == 21 and report[-1] == "... and 10 more problems like these"


# --- WaveSpeed -------------------------------------------------------------------------------


def run_wavespeed(tmp_path: Path, files: dict[str, bytes], trainer: str = "wan-2.2-image-lora-trainer"):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with open_source(tmp_path) as source:
        return check_wavespeed_layout(source, trainer=trainer)


def images(n: int, captions: bool = True) -> dict[str, bytes]:
    files = {f"img_{i}.png": png() for i in range(n)}
    if captions:
        files.update({f"img_{i}.txt": b"p3r5on" for i in range(n)})
    return files


def test_wavespeed_valid_with_and_without_captions(tmp_path: Path) -> None:
    report = run_wavespeed(tmp_path, {**images(9), "solo.jpg": JPEG})
    assert report.problems == [] and report.sample_count == 10


@pytest.mark.parametrize(
    ("files", "trainer", "expected"),
    [
        (
            images(9),
            "wan-2.2-image-lora-trainer",
            "has 9 images; wan-2.2-image-lora-trainer needs at least 10",
        ),
        (images(3), "flux-dev-lora-trainer", "has 3 images; flux-dev-lora-trainer needs at least 4"),
        (
            {**images(10), "orphan.txt": b"x"},
            "wan-2.2-image-lora-trainer",
            "caption 'orphan.txt' has no image beside it (expected 'orphan.jpg' or 'orphan.jpeg' or 'orphan.png' or 'orphan.webp')",
        ),
        (
            {**images(10), "clip.mp4": MP4},
            "wan-2.2-image-lora-trainer",
            "'clip.mp4' is a video; wan-2.2-image-lora-trainer trains on images (jpg, jpeg, png, webp)",
        ),
        (
            {**images(10), "fake.png": b"hello"},
            "wan-2.2-image-lora-trainer",
            "'fake.png' is an unrecognised file, not a PNG image",
        ),
        (
            {**images(10), "img_0.txt": b"\xff\xfe"},
            "wan-2.2-image-lora-trainer",
            "caption 'img_0.txt' is not UTF-8 text",
        ),
        (
            images(2),
            "wan-2.2-i2v-lora-trainer",
            "'img_0.png' is an image; wan-2.2-i2v-lora-trainer trains on videos (mp4, mov)",
        ),
        (
            {"a.png": png()},
            "wan-2.2-i2v-lora-trainer",
            "has 0 videos; wan-2.2-i2v-lora-trainer needs at least 1",
        ),
    ],
)
def test_wavespeed_rules(tmp_path: Path, files: dict[str, bytes], trainer: str, expected: str) -> None:
    assert expected in errors(run_wavespeed(tmp_path, files, trainer))


def test_wavespeed_videos(tmp_path: Path) -> None:
    report = run_wavespeed(tmp_path, {"a.mp4": MP4, "a.txt": b"x", "b.mov": MOV}, "wan-2.2-i2v-lora-trainer")
    assert report.problems == [] and report.sample_count == 2


def test_wavespeed_other_files_are_a_warning(tmp_path: Path) -> None:
    assert warnings(run_wavespeed(tmp_path, {**images(10), "readme.md": b"x"})) == [
        "not images or captions, ignored by the trainer: 'readme.md'"
    ]


# --- media sniffing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "fmt", "size"),
    [
        (png(7, 9), "png", (7, 9)),
        (JPEG, "jpeg", (64, 32)),
        (b"BM" + b"\0" * 16 + struct.pack("<ii", 12, -34) + b"\0" * 8, "bmp", (12, 34)),
        (
            b"RIFF\0\0\0\0WEBPVP8X" + b"\0" * 8 + (99).to_bytes(3, "little") + (49).to_bytes(3, "little"),
            "webp",
            (100, 50),
        ),
        (MP4, "mp4", None),
        (MOV, "mov", None),
        (b"\0\0\0\x08moov", "mov", None),
        (b"GIF87a", "gif", None),
        (b"plain text", None, None),
    ],
)
def test_sniff_and_image_size(head: bytes, fmt: str | None, size: tuple[int, int] | None) -> None:
    assert sniff(head) == fmt
    if fmt is not None:
        assert image_size(head, fmt) == size
