"""`Vouchers`: a folder's re-check vouched for only while its names and StatKeys are the load's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.datasets import inspecting
from reconciler.datasets.content_cache import RACY_NS, ContentCache
from reconciler.datasets.inspecting import inspect_dataset
from reconciler.datasets.vouchers import vouchers_of


@pytest.fixture(autouse=True)
def files_are_old(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inspecting, "now_ns", lambda: time.time_ns() + 60 * 10**9)


def _loaded(tmp_path: Path) -> tuple[str, str, ContentCache]:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"a")
    (folder / "b.txt").write_bytes(b"b")
    cache = ContentCache(tmp_path / "datasets.cache")
    cache.keep_reads = True
    digest = inspect_dataset(str(folder), cache=cache).content.digest
    return str(folder), digest, cache


def test_an_unchanged_folder_is_vouched_for_and_its_scan_taken_once(tmp_path: Path) -> None:
    folder, digest, cache = _loaded(tmp_path)
    vouchers = vouchers_of(cache)
    assert cache.retained == {} and vouchers.retained_folders() == [folder]
    assert vouchers.verify(folder) == digest
    assert vouchers.retained_folders() == []  # the bytes went with the scan
    verified = vouchers.take_scan(folder)
    assert verified is not None and verified.digest == digest
    assert [f.name for f in verified.files] == ["a.txt", "b.txt"]
    assert verified.retained == {"a.txt": b"a", "b.txt": b"b"}
    assert vouchers.take_scan(folder) is None


def test_a_failed_re_check_drops_an_earlier_scan(tmp_path: Path) -> None:
    folder, digest, cache = _loaded(tmp_path)
    vouchers = vouchers_of(cache)
    assert vouchers.verify(folder) == digest  # not taken (an upload that did not ask for it)
    (Path(folder) / "c.txt").write_bytes(b"c")
    assert vouchers.verify(folder) is None
    assert vouchers.take_scan(folder) is None  # never the scan from before the change


def test_a_folder_the_load_did_not_see_is_not_vouched_for(tmp_path: Path) -> None:
    folder, _, cache = _loaded(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    assert vouchers_of(cache).verify(str(other)) is None


def test_the_racy_window_is_the_content_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"a")
    newest = (folder / "a.txt").stat().st_ctime_ns
    cache = ContentCache(tmp_path / "datasets.cache")
    monkeypatch.setattr(inspecting, "now_ns", lambda: newest + RACY_NS)  # just inside the window
    inspect_dataset(str(folder), cache=cache)
    assert vouchers_of(cache).verify(str(folder)) is None
    monkeypatch.setattr(inspecting, "now_ns", lambda: newest + RACY_NS + 1)  # just outside it
    digest = inspect_dataset(str(folder), cache=cache).content.digest
    assert vouchers_of(cache).verify(str(folder)) == digest
