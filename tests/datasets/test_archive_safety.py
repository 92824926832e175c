"""Unsafe zips are rejected before anything is read from them."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from reconciler.datasets import DatasetError, content_of
from reconciler.datasets.archives import unsafe_entries


def make_zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    return info


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("/etc/passwd", "zip entry '/etc/passwd' has an absolute path"),
        ("C:/Windows/x", "zip entry 'C:/Windows/x' has an absolute path"),
        ("a/../../b", "zip entry 'a/../../b' points outside the archive ('..')"),
        ("..\\evil", "zip entry '..\\evil' points outside the archive ('..')"),
        (symlink("link"), "zip entry 'link' is a symbolic link; store the file itself"),
    ],
)
def test_unsafe_entries_rejected(tmp_path: Path, entry: zipfile.ZipInfo | str, message: str) -> None:
    archive = make_zip(tmp_path / "x.zip", [("ok.txt", b"fine"), (entry, b"x")])
    with pytest.raises(DatasetError) as caught:
        content_of(archive)
    assert caught.value.problems == [message]


def test_zip_bomb_rejected_from_the_central_directory(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as zf:
        zf.writestr("big.bin", b"x")
    data = raw.getvalue()
    cd = data.index(b"PK\x01\x02")
    data = data[: cd + 24] + struct.pack("<I", 3 * 1024**3) + data[cd + 28 :]
    (tmp_path / "bomb.zip").write_bytes(data)
    with pytest.raises(DatasetError) as caught:
        content_of(tmp_path / "bomb.zip")
    (problem,) = caught.value.problems
    assert problem.startswith("the zip expands to 3.0 GB from ") and "zip bomb" in problem


def test_well_compressed_small_zips_are_fine() -> None:
    info = zipfile.ZipInfo("data.jsonl")
    info.file_size = 50 * 1024 * 1024  # 50 MB of text in a 100 KB zip: ratio 500, but far below 1 GB
    assert unsafe_entries([info], 100 * 1024) == []


def test_duplicate_and_encrypted_entries() -> None:
    a, b = zipfile.ZipInfo("a.txt"), zipfile.ZipInfo("a.txt")
    enc = zipfile.ZipInfo("secret.txt")
    enc.flag_bits |= 0x1
    assert unsafe_entries([a, b, enc], 1000) == [
        "zip entry 'a.txt' appears more than once",
        "zip entry 'secret.txt' is encrypted; encrypted archives are not supported",
    ]


def test_corrupt_member_is_reported_not_raised(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "x.zip", [("a.txt", b"hello world" * 100)])
    data = bytearray(archive.read_bytes())
    start = data.index(b"a.txt") + len("a.txt")
    data[start + 5] ^= 0xFF  # flip a byte of the compressed payload
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="corrupt"):
        content_of(archive)
