"""The direct zip writer must produce exactly the bytes zipfile produces for the same folder (the
deterministic-zip promise: same content, byte-identical archive, whichever writer ran)."""

from __future__ import annotations

import io
import os
import random
import zipfile
from pathlib import Path

import pytest

from reconciler.datasets import zipping
from reconciler.datasets.sources import DirectorySource
from reconciler.datasets.zipping import write_deterministic_zip


def _both(folder: Path, monkeypatch: pytest.MonkeyPatch, prefix: bytes = b"") -> tuple[bytes, bytes]:
    direct = io.BytesIO(prefix)
    direct.seek(len(prefix))
    assert zipping._direct_fits(DirectorySource(folder), DirectorySource(folder).names(), direct)
    write_deterministic_zip(folder, direct)
    with monkeypatch.context() as m:
        m.setattr(zipping, "_direct_fits", lambda *a: False)
        through_zipfile = io.BytesIO(prefix)
        through_zipfile.seek(len(prefix))
        write_deterministic_zip(folder, through_zipfile)
    return direct.getvalue(), through_zipfile.getvalue()


def _folder(tmp_path: Path) -> Path:
    rng = random.Random(7)
    root = tmp_path / "ds"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "data.jsonl").write_text("".join(f'{{"i": {i}, "text": "caption {i}"}}\n' for i in range(300)))
    words = ["lora", "golden", "coins", "rain", "street", "sky", "pile", "the", "and", "from"]
    (root / "prose.txt").write_text(
        " ".join(rng.choice(words) + str(rng.randrange(99)) for _ in range(40_000))
    )
    (root / "empty.txt").write_bytes(b"")
    (root / "empty.png").write_bytes(b"")
    (root / "noise.bin").write_bytes(bytes(rng.randrange(256) for _ in range(70_000)))
    (root / "image_1.PNG").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(5000)))
    (root / "sub" / "clip.mp4").write_bytes(bytes(rng.randrange(256) for _ in range(3000)))
    (root / "sub" / "deeper" / "caption.txt").write_text("a caption\n" * 50)
    (root / "sub" / "caf\u00e9 \u00fcber.txt").write_text("non-ASCII name")
    return root


def test_direct_writer_matches_zipfile_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    direct, through_zipfile = _both(_folder(tmp_path), monkeypatch)
    assert direct == through_zipfile
    with zipfile.ZipFile(io.BytesIO(direct)) as zf:
        assert zf.testzip() is None
        assert zf.read("sub/deeper/caption.txt") == b"a caption\n" * 50


def test_direct_writer_matches_zipfile_after_a_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offsets are absolute in the output, as zipfile writes them when the stream does not start at 0."""
    direct, through_zipfile = _both(_folder(tmp_path), monkeypatch, prefix=b"#!prefix\n")
    assert direct == through_zipfile


def test_direct_writer_matches_zipfile_on_an_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "none").mkdir()
    direct, through_zipfile = _both(tmp_path / "none", monkeypatch)
    assert direct == through_zipfile


def test_big_files_and_unseekable_outputs_go_through_zipfile(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    source = DirectorySource(root)
    assert zipping._direct_fits(source, source.names(), io.BytesIO())
    (root / "big.bin").write_bytes(os.urandom(zipping.DIRECT_MAX_FILE_BYTES + 1))
    source = DirectorySource(root)
    assert not zipping._direct_fits(source, source.names(), io.BytesIO())

    class Unseekable(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def seek(self, *args: object) -> int:
            raise OSError("not seekable")

    assert not zipping._direct_fits(DirectorySource(tmp_path / "ds" / "sub"), ["clip.mp4"], Unseekable())  # type: ignore[arg-type]
