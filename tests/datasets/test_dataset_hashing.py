"""Content hashing and deterministic zips: identity depends on names and bytes only."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from reconciler.datasets import DatasetError, content_of, sources, write_deterministic_zip
from reconciler.datasets.hashing import digest_of

FILES = {
    "data.jsonl": b'{"prompt": "a"}\n{"prompt": "b"}\n',
    "image_1.png": b"\x89PNG\r\n\x1a\n" + b"1" * 100,
    "sub/notes.txt": b"caption",
}


def write(root: Path, files: dict[str, bytes], order: list[str] | None = None) -> Path:
    for name in order or list(files):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
    return root


def test_digest_is_sha256_over_sorted_name_and_file_hash_pairs(tmp_path: Path) -> None:
    content = content_of(write(tmp_path / "d", FILES))
    expected = hashlib.sha256()
    for name in sorted(FILES):
        expected.update(f"{name}\0{hashlib.sha256(FILES[name]).hexdigest()}\n".encode())
    assert content.digest == expected.hexdigest() == digest_of(content.files)
    assert content.files["sub/notes.txt"] == hashlib.sha256(b"caption").hexdigest()
    assert content.total_bytes == sum(map(len, FILES.values()))


def test_independent_of_creation_order_mtimes_and_location(tmp_path: Path) -> None:
    a = content_of(write(tmp_path / "a", FILES))
    b_dir = write(tmp_path / "b", FILES, order=sorted(FILES, reverse=True))
    for i, p in enumerate(sorted(b_dir.rglob("*"))):
        os.utime(p, (1_000_000 + i, 1_000_000 + i))
    assert content_of(b_dir).digest == a.digest
    moved = tmp_path / "elsewhere" / "deeper"
    moved.parent.mkdir()
    shutil.move(str(b_dir), moved)
    assert content_of(moved).digest == a.digest


def test_changes_with_a_byte_a_name_or_a_new_file(tmp_path: Path) -> None:
    base = content_of(write(tmp_path / "a", FILES)).digest
    edited = content_of(write(tmp_path / "b", {**FILES, "sub/notes.txt": b"caption!"})).digest
    renamed = content_of(
        write(
            tmp_path / "c",
            {**{k: v for k, v in FILES.items() if k != "image_1.png"}, "image_2.png": FILES["image_1.png"]},
        )
    ).digest
    added = content_of(write(tmp_path / "d", {**FILES, "x.txt": b""})).digest
    assert len({base, edited, renamed, added}) == 4


def test_hidden_files_are_not_content(tmp_path: Path) -> None:
    base = content_of(write(tmp_path / "a", FILES)).digest
    noisy = write(tmp_path / "b", {**FILES, ".DS_Store": b"junk", ".git/config": b"x", "__MACOSX/._a": b"x"})
    assert content_of(noisy).digest == base


def test_zip_and_folder_with_the_same_files_hash_the_same(tmp_path: Path) -> None:
    folder = write(tmp_path / "d", FILES)
    with (tmp_path / "d.zip").open("wb") as fh:
        write_deterministic_zip(folder, fh)
    # a zip made by another tool, in another order, with directory entries and a macOS fork
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("sub/", b"")
        zf.writestr("__MACOSX/._data.jsonl", b"fork")
        for name in sorted(FILES, reverse=True):
            zf.writestr(name, FILES[name])
    assert content_of(tmp_path / "d.zip").digest == content_of(folder).digest == content_of(other).digest


def test_sample_counts(tmp_path: Path) -> None:
    folder = write(tmp_path / "d", FILES)
    assert content_of(folder, "dashscope").sample_count == 2  # data.jsonl lines
    assert content_of(folder, "wavespeed").sample_count == 1  # media files


def test_large_files_are_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "d" / "video.mp4"
    big.parent.mkdir()
    with big.open("wb") as fh:
        fh.truncate(8 * 1024 * 1024)
    reads: list[int] = []
    real_open = open

    def spying_open(*args, **kwargs):  # type: ignore[no-untyped-def]
        fh = real_open(*args, **kwargs)
        original = fh.read

        def read(n: int = -1) -> bytes:
            reads.append(n)
            return original(n)

        fh.read = read  # type: ignore[method-assign]
        return fh

    monkeypatch.setattr(sources, "open", spying_open, raising=False)  # what DirectorySource calls
    content = content_of(big.parent)
    assert content.total_bytes == 8 * 1024 * 1024
    assert reads and all(0 < n <= 1024 * 1024 for n in reads)


def test_deterministic_zip_is_byte_identical(tmp_path: Path) -> None:
    a = write(tmp_path / "a", FILES)
    b = write(tmp_path / "b", FILES, order=sorted(FILES, reverse=True))
    os.utime(b / "data.jsonl", (0, 0))
    os.chmod(b / "image_1.png", 0o600)
    first, second, third = io.BytesIO(), io.BytesIO(), io.BytesIO()
    write_deterministic_zip(a, first)
    write_deterministic_zip(a, second)
    write_deterministic_zip(b, third)
    assert first.getvalue() == second.getvalue() == third.getvalue()
    with zipfile.ZipFile(io.BytesIO(first.getvalue())) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == sorted(FILES)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert all(zf.read(n) == FILES[n] for n in FILES)


def test_unreadable_sources(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        content_of(tmp_path / "nope")
    (tmp_path / "x.tar").write_bytes(b"tar?")
    with pytest.raises(DatasetError, match="neither a folder nor a .zip"):
        content_of(tmp_path / "x.tar")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DatasetError, match="not a readable zip"):
        content_of(tmp_path / "broken.zip")


@pytest.mark.parametrize("target", ["/etc/passwd", "image_1.png", "missing.png"])
def test_a_symlink_in_a_folder_is_refused_never_read_through(tmp_path: Path, target: str) -> None:
    folder = write(tmp_path / "d", FILES)
    (folder / "link.png").symlink_to(target)  # outside, inside, or dangling: all refused
    with pytest.raises(DatasetError) as caught:
        content_of(folder)
    assert caught.value.problems == [
        f"'link.png' is a symbolic link (to {target}); a dataset holds only regular files: copy the file in instead"
    ]
    with pytest.raises(DatasetError, match="symbolic link"):
        write_deterministic_zip(folder, io.BytesIO())  # nor zipped for upload


def test_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    folder = write(tmp_path / "d", FILES)
    (folder / "more").symlink_to(tmp_path)
    with pytest.raises(DatasetError, match="'more' is a symbolic link to a folder"):
        content_of(folder)


@pytest.mark.parametrize("by_fd", [True, False])
def test_a_scan_lists_the_same_files_with_or_without_folder_descriptors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_fd: bool
) -> None:
    """Where the OS lists folders through descriptors (fstatat per file) and where it does not."""
    from reconciler.datasets import scanning

    data = tmp_path / "d"
    (data / "sub" / "deeper").mkdir(parents=True)
    (data / "a.txt").write_text("a")
    (data / "sub" / "b.txt").write_text("bb")
    (data / "sub" / "deeper" / "c.txt").write_text("ccc")
    (data / ".hidden").write_text("x")
    monkeypatch.setattr(scanning, "_BY_FD", by_fd)
    scan = scanning.scan_folder_keys(data)
    assert [(f.name, f.path) for f in scan.files] == [
        ("a.txt", str(data / "a.txt")),
        ("sub/b.txt", str(data / "sub" / "b.txt")),
        ("sub/deeper/c.txt", str(data / "sub" / "deeper" / "c.txt")),
    ]
    assert scan.names == "a.txt\0sub/b.txt\0sub/deeper/c.txt"
    assert [f.key for f in scan.files] == [scanning.stat_key(os.lstat(f.path)) for f in scan.files]
    assert scan.newest == max(max(k[1], k[2]) for k in (f.key for f in scan.files))
    (data / "sub" / "link.txt").symlink_to(data / "a.txt")
    with pytest.raises(DatasetError, match="'sub/link.txt' is a symbolic link"):
        scanning.scan_folder_keys(data)
    with pytest.raises(NotADirectoryError):
        scanning.scan_folder_keys(data / "a.txt")
    with pytest.raises(FileNotFoundError):
        scanning.scan_folder_keys(tmp_path / "missing")
