#!/usr/bin/env python3
"""Generate the tiny example datasets under manifests/ deterministically.

Why a script: the examples must be real (valid PNG frames, MP4-signed videos, captions) yet a few
KB in total, and anyone must be able to regenerate byte-identical files. Run from anywhere:

    python scripts/make_example_data.py            # (re)write the data
    python scripts/make_example_data.py --check    # exit 1 if the checked-in data differs

Nothing here is random: colours and prompts are derived from the sample index.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "manifests" / "quickstart" / "data" / "money-rain"
PROJECT = REPO / "manifests" / "project" / "shared" / "data" / "money-rain"
WAVESPEED = REPO / "manifests" / "examples" / "wavespeed" / "data" / "product-shots"

QUICKSTART_SAMPLES = 12
WAVESPEED_IMAGES = 12
TRIGGER = "s86b5p"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid, solid-colour 8-bit RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def mp4(index: int) -> bytes:
    """An ISO-BMFF file with a real `ftyp` box (what the magic-byte check reads) and a tiny payload.

    Not a playable video — the sandbox never decodes frames; it keeps the example a few hundred bytes.
    """

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    free = box(b"free", f"reconciler example video {index}".encode())
    return ftyp + free


def colour(i: int) -> tuple[int, int, int]:
    return ((37 * i) % 256, (91 * i + 40) % 256, (153 * i + 80) % 256)


def quickstart_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    lines = []
    for i in range(1, QUICKSTART_SAMPLES + 1):
        image, video = f"image_{i}.png", f"video_{i}.mp4"
        files[image] = png(16, 16, colour(i))
        files[video] = mp4(i)
        lines.append(
            json.dumps(
                {
                    "prompt": f"A storefront at dusk, scene {i}. {TRIGGER} golden coins rain from the sky "
                    "and pile up on the street.",
                    "first_frame_path": image,
                    "video_path": video,
                },
                ensure_ascii=False,
            )
        )
    files["data.jsonl"] = ("\n".join(lines) + "\n").encode()
    return files


def wavespeed_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for i in range(1, WAVESPEED_IMAGES + 1):
        files[f"shot_{i:02d}.png"] = png(24, 24, colour(i + 50))
        files[f"shot_{i:02d}.txt"] = f"p3r5on product photo {i}, white background, studio light\n".encode()
    return files


TARGETS = {QUICKSTART: quickstart_files, PROJECT: quickstart_files, WAVESPEED: wavespeed_files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for directory, build in TARGETS.items():
        files = build()
        if args.check:
            present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
            if present != set(files) or any((directory / n).read_bytes() != b for n, b in files.items()):
                stale.append(directory)
            continue
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        for name, data in files.items():
            (directory / name).write_bytes(data)
        print(
            f"wrote {len(files)} files ({sum(map(len, files.values()))} bytes) to {directory.relative_to(REPO)}"
        )
    if stale:
        for d in stale:
            print(f"stale: {d.relative_to(REPO)} (run scripts/make_example_data.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
