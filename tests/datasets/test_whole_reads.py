"""A folder's small files are hashed from one whole read: the same facts as the streamed pass.

`DirectorySource.read_small` reads a file of at most `WHOLE_READ_BYTES` in one `os.read` (plus the
one that sees the end) and `hashing.facts_of` takes its digest and facts; anything larger, or a
file that grew past the limit since the scan, is streamed in chunks as before.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from reconciler.datasets import hashing, sources
from reconciler.datasets.hashing import _hash_streamed, facts_of, file_hashes
from reconciler.datasets.scanning import scan_folder
from reconciler.datasets.sources import DirectorySource

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x00\x80" + b"\x00" * 40
SAMPLES = {
    "ascii.txt": b"plain ascii\n",
    "utf8.txt": "caf\u00e9 \u2603 \U0001f600\n".encode(),
    "latin1.txt": "caf\u00e9".encode("latin-1"),  # not UTF-8
    "cut.txt": "\u2603".encode()[:2],  # a character cut short at the end: not UTF-8
    "image.png": PNG,
    "empty.bin": b"",
    "data.jsonl": b'{"prompt": "a"}\n',
}


def _source(root: Path, files: dict[str, bytes]) -> DirectorySource:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return DirectorySource(root)


def test_whole_read_facts_equal_the_streamed_facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(9)
    files = dict(SAMPLES)
    for i in range(20):  # random bytes, and UTF-8 text split anywhere by the streamed chunks
        files[f"random_{i}.bin"] = rng.randbytes(rng.randrange(0, 3000))
        files[f"text_{i}.txt"] = "".join(rng.choice("a\u00e9\u2603\U0001f600") for _ in range(500)).encode()
    whole = _source(tmp_path / "d", files)
    assert file_hashes(whole)
    monkeypatch.setattr(sources, "CHUNK", 7)  # tiny chunks: a multi-byte character split across reads
    streamed = DirectorySource(tmp_path / "d")
    for name in streamed.names():
        _hash_streamed(streamed, name)
    assert whole.facts == streamed.facts
    assert whole.facts["utf8.txt"].utf8 and not whole.facts["latin1.txt"].utf8
    assert not whole.facts["cut.txt"].utf8 and whole.facts["ascii.txt"].utf8
    assert whole.facts["image.png"].media == "png" and whole.facts["image.png"].dimensions == (256, 128)
    assert whole.kept == streamed.kept == {"data.jsonl": files["data.jsonl"]}
    assert sorted(whole.opened) == sorted(streamed.opened) == sorted(files)


def test_small_files_are_read_whole_and_large_ones_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "WHOLE_READ_BYTES", 100)
    source = _source(tmp_path / "d", {"small.bin": b"s" * 100, "large.bin": b"l" * 101})
    streamed: list[str] = []
    real = DirectorySource.chunks
    monkeypatch.setattr(DirectorySource, "chunks", lambda self, n: streamed.append(n) or real(self, n))
    file_hashes(source)
    assert streamed == ["large.bin"]
    assert source.facts["large.bin"] == facts_of(b"l" * 101)
    assert source.facts["small.bin"] == facts_of(b"s" * 100)


def test_a_file_that_grew_since_the_scan_is_hashed_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "WHOLE_READ_BYTES", 1000)
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.txt").write_bytes(b"x" * 10)
    (root / "b.txt").write_bytes(b"y" * 10)
    source = DirectorySource(root, scan_folder(root))  # sizes taken now: 10 bytes each
    (root / "a.txt").write_bytes(b"x" * 500)  # grew, still small: read whole, to its end
    (root / "b.txt").write_bytes(b"y" * 5000)  # grew past the limit: streamed
    (root / "a.txt").touch()
    assert source.read_small("a.txt") == b"x" * 500
    assert source.read_small("b.txt") is None
    file_hashes(source)
    assert source.facts["a.txt"] == facts_of(b"x" * 500)
    assert source.facts["b.txt"] == facts_of(b"y" * 5000)


def test_a_file_that_shrank_since_the_scan_is_hashed_as_it_is(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.txt").write_bytes(b"x" * 100)
    source = DirectorySource(root, scan_folder(root))
    with open(root / "a.txt", "r+b") as fh:
        fh.truncate(3)
    assert source.read_small("a.txt") == b"xxx"


def test_a_short_read_is_read_on_to_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "d"
    root.mkdir()
    data = bytes(range(256)) * 4
    (root / "a.bin").write_bytes(data)
    source = DirectorySource(root)
    real_read = os.read
    asked: list[int] = []

    def short_read(fd: int, n: int) -> bytes:  # a file system that returns at most 100 bytes a read
        asked.append(n)
        return real_read(fd, min(n, 100))

    monkeypatch.setattr(sources.os, "read", short_read)
    assert source.read_small("a.bin") == data
    assert asked[0] == len(data) + 1 and asked[-1] == 1  # the last read asked one byte and saw the end


def test_a_zip_is_streamed(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        zf.writestr("a.txt", b"abc")
    with sources.open_source(tmp_path / "d.zip") as source:
        assert source.read_small("a.txt") is None
        assert hashing.file_hashes(source) == {"a.txt": facts_of(b"abc").sha256}


@pytest.mark.parametrize("keep", [False, True])
def test_a_load_keeps_the_bytes_it_read_only_when_uploads_follow(tmp_path: Path, keep: bool) -> None:
    from reconciler.datasets.content_cache import ContentCache
    from reconciler.datasets.inspecting import inspect_dataset

    _source(tmp_path / "d", SAMPLES)
    cache = ContentCache(tmp_path / "datasets.cache")
    cache.keep_reads = keep
    inspect_dataset(str(tmp_path / "d"), cache=cache)
    if keep:
        assert cache.retained == {str(tmp_path / "d"): SAMPLES}
    else:
        assert cache.retained == {}  # a plan holds no file's bytes


def test_a_cold_inspection_shares_equal_hashes_and_interns_names(tmp_path: Path) -> None:
    from reconciler.datasets.content_cache import ContentCache
    from reconciler.datasets.inspecting import inspect_dataset

    cache = ContentCache(tmp_path / "datasets.cache")
    found = []
    for folder in ("a", "b"):
        _source(tmp_path / folder, {"image_1.png": PNG, "notes.txt": b"same"})
        found.append(inspect_dataset(str(tmp_path / folder), cache=cache).content.files)
    first, second = found
    assert first == second
    for name in first:  # one string for a name or a hash however many datasets hold it
        (mine,) = (n for n in second if n == name)
        assert mine is next(n for n in first if n == name)
        assert first[name] is second[name]


def test_equal_bytes_kept_for_uploads_are_one_object(tmp_path: Path) -> None:
    from reconciler.datasets.content_cache import ContentCache
    from reconciler.datasets.inspecting import inspect_dataset

    cache = ContentCache(tmp_path / "datasets.cache")
    cache.keep_reads = True
    for folder in ("a", "b"):
        _source(tmp_path / folder, {"image_1.png": PNG, "data.jsonl": f"{folder}\n".encode()})
        inspect_dataset(str(tmp_path / folder), cache=cache)
    a, b = cache.retained[str(tmp_path / "a")], cache.retained[str(tmp_path / "b")]
    assert a["image_1.png"] is b["image_1.png"] and a["image_1.png"] == PNG
    assert (a["data.jsonl"], b["data.jsonl"]) == (b"a\n", b"b\n")
