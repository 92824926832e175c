"""Apply's pre-upload re-check through the load's vouchers, and the zip from the bytes it read.

`Workspace.expect_uploads` (what `reconciler apply` calls before anything loads) makes the load
keep, per folder, a voucher (`datasets/vouchers.py`) and the bytes a cold load read. The re-check
before each upload then scans the folder and compares it with the voucher, without reading the
content cache file again; the zip is written from the kept bytes. Anything the voucher does not
vouch for (an edit, even with the size and mtime put back; a racily clean file) goes through the
content cache as before, and a changed dataset is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.datasets import content_cache, inspecting, sources, vouchers, write_deterministic_zip
from reconciler.engine.outcomes import Outcome
from reconciler.providers import packaging
from reconciler.providers.dashscope import handlers


@pytest.fixture(autouse=True)
def files_are_old(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans happen a minute after the files were written, so none is racily clean."""
    monkeypatch.setattr(inspecting, "now_ns", lambda: time.time_ns() + 60 * 10**9)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    """(folder, the zip's bytes) of every dataset upload."""
    sent: list[tuple[str, bytes]] = []
    real = packaging.upload_source

    @contextlib.contextmanager
    def recording(source_path: str) -> Iterator[Any]:
        with real(source_path) as source:
            data = source.read_bytes() if isinstance(source, Path) else source.getvalue()  # type: ignore[union-attr]  # a BytesIO
            sent.append((source_path, data))
            yield source

    monkeypatch.setattr(handlers, "upload_source", recording)
    return sent


@pytest.fixture
def cache_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read of the content cache file."""
    reads: list[str] = []
    real = content_cache.ContentCache._read

    def counting(self: content_cache.ContentCache, path: Path) -> None:
        reads.append(str(path))
        real(self, path)

    monkeypatch.setattr(content_cache.ContentCache, "_read", counting)
    return reads


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real_open_fd, real_open = sources.open_fd, open

    def counting_open_fd(path: str) -> int:
        calls.append(os.path.basename(path))
        return real_open_fd(path)

    def counting_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(os.path.basename(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(sources, "open_fd", counting_open_fd)
    monkeypatch.setattr(sources, "open", counting_open, raising=False)
    return calls


def _fresh_zip(folder: str) -> bytes:
    out = io.BytesIO()
    write_deterministic_zip(folder, out)
    return out.getvalue()


def test_a_cold_apply_re_checks_through_its_vouchers_and_zips_what_it_read(  # type: ignore[no-untyped-def]
    make_env, uploads: list[tuple[str, bytes]], cache_reads: list[str], opened: list[str]
):
    env = make_env()
    ws = env.workspace()
    ws.expect_uploads()
    _, result = ws.apply()
    assert result is not None and result.ok
    folder = str(env.root / "data" / "money-rain")
    files = sorted(os.listdir(folder))
    assert cache_reads == [str(env.root / ".reconciler" / "datasets.cache")]  # the load's only
    assert sorted(opened) == files  # each file read once, by the load; the zip took those bytes
    assert [f for f, _ in uploads] == [folder]
    assert uploads[0][1] == _fresh_zip(folder)  # the zip a fresh read makes, byte for byte
    stored = env.sandbox.store.query("SELECT md5, bytes FROM dashscope_files")
    assert [(r["md5"], r["bytes"]) for r in stored] == [
        (hashlib.md5(uploads[0][1]).hexdigest(), len(uploads[0][1]))
    ]


def test_without_expect_uploads_the_re_check_goes_through_the_cache(  # type: ignore[no-untyped-def]
    make_env, uploads: list[tuple[str, bytes]], cache_reads: list[str], opened: list[str]
):
    env = make_env()
    ws = env.workspace()
    ws.plan()  # the manifests loaded by a plan: no vouchers
    _, result = ws.apply()
    assert result is not None and result.ok
    assert len(cache_reads) == 2  # the load, then the re-check reads the cache file again
    folder = str(env.root / "data" / "money-rain")
    assert uploads[0][1] == _fresh_zip(folder)


def _edit_same_size(path: Path) -> None:
    st = path.stat()
    body = bytearray(path.read_bytes())
    body[-1] ^= 0xFF
    path.write_bytes(bytes(body))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -d: the old mtime back


@pytest.mark.parametrize("edit", ["same size, mtime back", "renamed", "added", "removed"])
def test_a_change_after_the_load_is_not_vouched_for_and_is_refused(  # type: ignore[no-untyped-def]
    make_env, uploads: list[tuple[str, bytes]], edit: str
):
    env = make_env()
    ws = env.workspace()
    ws.expect_uploads()
    folder = env.root / "data" / "money-rain"

    def change(plan: object) -> bool:  # after the load and the plan, before the upload
        if edit == "same size, mtime back":
            _edit_same_size(folder / "image_1.png")
        elif edit == "renamed":
            os.rename(folder / "image_12.png", folder / "image_13.png")
        elif edit == "added":
            (folder / "notes.txt").write_text("a file the plan did not hash")
        else:
            os.unlink(folder / "image_12.png")
        return True

    _, result = ws.apply(confirm=change)
    assert result is not None
    outcome = result.outcomes["Dataset/money-rain-train"]
    assert outcome.outcome is Outcome.FAILED and "changed since the plan was made" in outcome.message
    assert uploads == []


def test_a_racily_clean_folder_is_re_checked_through_the_cache(  # type: ignore[no-untyped-def]
    make_env, monkeypatch: pytest.MonkeyPatch, uploads: list[tuple[str, bytes]], cache_reads: list[str]
):
    monkeypatch.setattr(inspecting, "now_ns", time.time_ns)  # files written just now: racily clean
    env = make_env()
    ws = env.workspace()
    ws.expect_uploads()
    verified: list[str | None] = []
    real = vouchers.Vouchers.verify
    monkeypatch.setattr(vouchers.Vouchers, "verify", lambda self, key: verified.append(real(self, key)))
    _, result = ws.apply()
    assert result is not None and result.ok
    assert verified == [None]  # not vouched for: the content cache re-checked it (and re-read it)
    assert len(cache_reads) == 2
    assert uploads[0][1] == _fresh_zip(str(env.root / "data" / "money-rain"))


def test_only_the_uploaded_folders_keep_their_bytes(make_env, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    env = make_env()
    env.workspace().apply()
    (env.root / ".reconciler" / "datasets.cache").unlink()  # a cold cache, nothing to upload
    ws = env.workspace()
    ws.expect_uploads()
    kept: list[list[str]] = []
    real = vouchers.Vouchers.keep_bytes_of

    def spying(self: vouchers.Vouchers, keys: Any) -> None:
        real(self, keys)
        kept.append(self.retained_folders())

    monkeypatch.setattr(vouchers.Vouchers, "keep_bytes_of", spying)
    plan, result = ws.apply()
    assert not plan.has_changes
    assert kept == [[]]
