"""The dataset content cache never hides an edit: every kind of change is seen, and unchanged data is not read.

The content digest decides retrains (hours of GPU time), so each test makes one kind of edit that a
weaker cache key would miss — same size, an mtime put back with `touch -d`, a rename, an added or
removed file, a file replaced by a symbolic link, an edit inside the racy window — and asserts the
digest is the one a fresh hash gives. The clock the racy rule compares with (`inspecting.now_ns`) is
moved forward where a test needs files that are "old" without sleeping.

Every test runs twice: with the folder scanned by `inspect_dataset` itself, and with its scan taken
by a forked child (`reconciler.cli.prescan`, what `plan` does on the second core) and handed in.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from reconciler.cli import prescan
from reconciler.datasets import ContentCache, DatasetError, content_of, inspect_dataset, inspecting
from reconciler.datasets.content_cache import CACHE_FILE, RACY_NS
from reconciler.datasets.dashscope_layout import check_dashscope_layout
from reconciler.datasets.scanning import claim_prescan, prescan_folders

LATER = 60 * 10**9  # a scan a minute after the files were written: nothing is racily clean


def png(seed: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", bytes([seed % 256]) * 20)


MP4 = struct.pack(">I", 16) + b"ftypisom\0\0\0\0"


def write_dataset(folder: Path, n: int = 10) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(1, n + 1):
        (folder / f"image_{i}.png").write_bytes(png(i))
        (folder / f"video_{i}.mp4").write_bytes(MP4)
        lines.append(
            json.dumps(
                {"prompt": f"scene {i}", "first_frame_path": f"image_{i}.png", "video_path": f"video_{i}.mp4"}
            )
        )
    (folder / "data.jsonl").write_text("\n".join(lines) + "\n")
    return folder


USAGE = ("dashscope", "i2v", "training")


def layout(source, usage):  # type: ignore[no-untyped-def]
    return check_dashscope_layout(source, kf2v=usage[1] == "kf2v", validation=usage[2] == "validation")


SCAN_PATHS = ["serial", "forked"]
_scan_path = "serial"


@pytest.fixture(autouse=True, params=SCAN_PATHS)
def scan_path(request: pytest.FixtureRequest) -> object:
    global _scan_path
    _scan_path = request.param
    yield request.param
    _scan_path = "serial"


def scanned_in_a_child(folder: Path) -> dict[str, tuple[str, bytes, int]]:
    """The folder's scan taken by a forked child and sent back through the pipe, as `plan` does."""
    marker = str(folder) + ".prescan"  # any cache file name: the offer is claimed by it
    prescan._Child(Path(marker), lambda _: marshal.dumps(prescan_folders([str(folder)])))
    return claim_prescan(marker)


def inspect(path: Path, cache: ContentCache) -> inspecting.DatasetInspection:
    pre = scanned_in_a_child(path).get(str(path)) if _scan_path == "forked" else None
    return inspect_dataset(
        path, provider="dashscope", usages=[USAGE], check_layout=layout, cache=cache, prescanned=pre
    )


def fresh_digest(path: Path) -> str:
    return content_of(path, "dashscope").digest


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans happen a minute after the files were written (so no file is racily clean)."""
    monkeypatch.setattr(inspecting, "now_ns", lambda: time.time_ns() + LATER)


def reload(cache: ContentCache) -> ContentCache:
    """What the next process sees: the saved file, read again."""
    assert cache.path is not None
    cache.save()
    fresh = ContentCache(cache.path)
    assert fresh.load_problem is None
    return fresh


def test_an_unchanged_dataset_is_only_stated(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    first = inspect(data, cache)
    assert first.files_read == 21 and first.content.digest == fresh_digest(data)
    second = inspect(data, reload(cache))
    assert second.files_read == 0  # not one file opened
    assert second.content == first.content and second.layouts == first.layouts


def test_a_cache_from_the_same_process_is_used_too(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    inspect(data, cache)
    assert inspect(data, cache).files_read == 0


def edit_same_size(path: Path) -> None:
    text = path.read_bytes()
    path.write_bytes(text.replace(b"scene 3", b"scene 9", 1))


def put_mtime_back(path: Path, st: os.stat_result) -> None:
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # what `touch -d` does


def test_an_edit_of_the_same_size_with_the_mtime_put_back_is_seen(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    before = inspect(data, cache).content.digest
    jsonl = data / "data.jsonl"
    st = jsonl.stat()
    edit_same_size(jsonl)
    put_mtime_back(jsonl, st)
    assert (jsonl.stat().st_size, jsonl.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)  # size+mtime lie
    after = inspect(data, reload(cache))
    assert after.content.digest != before
    assert after.content.digest == fresh_digest(data)
    assert after.files_read == 1  # only the changed file is read again


def test_an_image_replaced_by_one_of_the_same_size_is_seen(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    before = inspect(data, cache).content.digest
    image = data / "image_2.png"
    st = image.stat()
    replacement = tmp_path / "new.png"
    replacement.write_bytes(png(200))
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, image)  # a new inode, same size and mtime
    after = inspect(data, reload(cache))
    assert after.content.digest not in (before,) and after.content.digest == fresh_digest(data)


def test_a_rename_is_seen(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    before = inspect(data, cache).content.digest
    # swap two images' names: the same set of bytes, the same sizes, different names → different content
    os.rename(data / "image_1.png", data / "tmp.png")
    os.rename(data / "image_2.png", data / "image_1.png")
    os.rename(data / "tmp.png", data / "image_2.png")
    after = inspect(data, reload(cache))
    assert after.content.digest != before and after.content.digest == fresh_digest(data)


def test_an_added_and_a_removed_file_are_seen(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    original = inspect(data, cache).content.digest
    (data / "notes.md").write_text("extra")
    added = inspect(data, reload(cache))
    assert added.content.digest != original and added.content.digest == fresh_digest(data)
    assert "notes.md" in added.content.files
    assert added.files_read == 2  # the new file, and data.jsonl for the layout check of the new content
    assert [p.message for p in added.layouts[USAGE]] == [
        "not referenced by data.jsonl (uploaded but unused): 'notes.md'"
    ]
    (data / "notes.md").unlink()
    removed = inspect(data, reload(cache))
    assert removed.content.digest == original and removed.files_read == 0
    (data / "video_10.mp4").unlink()
    gone = inspect(data, reload(cache))
    assert gone.content.digest == fresh_digest(data) and "video_10.mp4" not in gone.content.files
    assert any("video_path 'video_10.mp4' not found" in p.message for p in gone.layouts[USAGE])


def test_a_file_replaced_by_a_symlink_is_refused(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    inspect(data, cache)
    image = data / "image_4.png"
    shutil.copy(image, tmp_path / "outside.png")
    image.unlink()
    image.symlink_to(tmp_path / "outside.png")  # the same bytes, through a link
    with pytest.raises(DatasetError, match="'image_4.png' is a symbolic link"):
        inspect(data, reload(cache))


def test_an_edit_in_a_subfolder_with_the_mtime_put_back_is_seen(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    (data / "extra").mkdir()
    note = data / "extra" / "notes.txt"
    note.write_text("scene 3 notes")
    cache = ContentCache(tmp_path / CACHE_FILE)
    before = inspect(data, cache)
    assert "extra/notes.txt" in before.content.files
    st = note.stat()
    edit_same_size(note)
    put_mtime_back(note, st)
    after = inspect(data, reload(cache))
    assert after.content.digest != before.content.digest and after.content.digest == fresh_digest(data)
    assert after.files_read >= 1


def test_a_folder_replaced_by_a_zip_at_the_same_path_is_read(tmp_path: Path, later: None) -> None:
    # the folder's entry must not answer for a file now at its path, nor the file's for a folder again
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    folder_digest = inspect(data, cache).content.digest
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(data.iterdir()):
            zf.writestr(p.name, p.read_bytes().replace(b"scene 1", b"scene 7"))
    shutil.rmtree(data)
    os.replace(archive, data)  # "d" is now a zip archive with other content
    as_zip = inspect(data, reload(cache))
    assert as_zip.content.digest != folder_digest and as_zip.content.digest == fresh_digest(data)
    data.unlink()
    write_dataset(data)
    again = inspect(data, reload(cache))
    assert again.content.digest == folder_digest == fresh_digest(data)


def test_a_missing_dataset_is_an_error_not_a_cached_answer(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    inspect(data, cache)
    shutil.rmtree(data)
    with pytest.raises(DatasetError, match="does not exist"):
        inspect(data, reload(cache))


def test_a_racily_clean_file_is_hashed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit in the same timestamp tick as the scan leaves the StatKey unchanged; the racy rule catches it.

    It cannot be produced on demand, so the cache is made to hold a stale sha256 for a file whose
    StatKey still matches — exactly what such an edit leaves behind.
    """
    data = write_dataset(tmp_path / "d")
    path = tmp_path / CACHE_FILE
    cache = ContentCache(path)
    truth = inspect(data, cache).content.digest  # scanned right after writing: every file is racy
    entry = cache.get(str(data))
    assert entry is not None
    entry.shas = "0" * 64 + entry.shas[64:]  # stale hash for the first file, StatKey unchanged
    entry.digest = "stale"
    cache.touch()
    again = inspect(data, reload(cache))
    assert again.content.digest == truth and again.files_read == 21  # all racy: all read again
    # once the files are older than the racy window, a stat match is trusted (and rightly so)
    monkeypatch.setattr(inspecting, "now_ns", lambda: time.time_ns() + LATER)
    settled = reload(cache)
    inspect(data, settled)
    assert inspect(data, settled).files_read == 0


def test_the_racy_window_is_measured_from_the_scan_not_the_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    times = [max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in data.iterdir()]
    oldest, newest = min(times), max(times)
    monkeypatch.setattr(inspecting, "now_ns", lambda: oldest + RACY_NS)  # every file inside the window
    inspect(data, cache)
    assert inspect(data, cache).files_read == 21
    monkeypatch.setattr(inspecting, "now_ns", lambda: newest + RACY_NS + 1)  # just outside
    inspect(data, cache)
    assert inspect(data, cache).files_read == 0


def test_an_old_mtime_does_not_make_a_just_changed_file_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The racy rule looks at the ctime too: `touch -d` can put an mtime far back, not the ctime.

    Every file's mtime is set a day back; their ctimes are now. A scan now finds them all racily
    clean (so a cache entry with a stale sha256 is not trusted), as git does.
    """
    data = write_dataset(tmp_path / "d")
    day_ago = time.time_ns() - 86_400 * 10**9
    for p in data.iterdir():
        os.utime(p, ns=(day_ago, day_ago))
    cache = ContentCache(tmp_path / CACHE_FILE)
    truth = inspect(data, cache).content.digest
    entry = cache.get(str(data))
    assert entry is not None
    entry.shas = "0" * 64 + entry.shas[64:]  # what an edit in the scan's tick would leave behind
    entry.digest = "stale"
    cache.touch()
    again = inspect(data, reload(cache))
    assert again.content.digest == truth and again.files_read == 21


def test_a_touched_file_is_read_again_but_layout_results_are_reused(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    first = inspect(data, cache)
    (data / "image_5.png").touch()
    again = inspect(data, reload(cache))
    assert again.files_read == 1 and again.content == first.content and again.layouts == first.layouts


def test_layout_problems_are_replayed_from_the_cache(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d", n=6)  # too few samples: an error
    cache = ContentCache(tmp_path / CACHE_FILE)
    first = inspect(data, cache)
    assert [p.message for p in first.layouts[USAGE]] == [
        "data.jsonl has 6 samples; DashScope needs at least 10 (20–100 recommended)"
    ]
    second = inspect(data, reload(cache))
    assert second.files_read == 0 and second.layouts == first.layouts


def test_a_new_usage_of_unchanged_content_reads_only_the_annotations(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    cache = reload_after(inspect, data, ContentCache(tmp_path / CACHE_FILE))
    kf2v = ("dashscope", "kf2v", "training")
    result = inspect_dataset(data, provider="dashscope", usages=[kf2v], check_layout=layout, cache=cache)
    assert result.files_read == 1  # data.jsonl; every image's format and size came from the cache
    assert any("'last_frame_path' is missing" in p.message for p in result.layouts[kf2v])


def reload_after(fn, data: Path, cache: ContentCache) -> ContentCache:  # type: ignore[no-untyped-def]
    fn(data, cache)
    return reload(cache)


def test_an_unchanged_zip_is_not_opened_and_a_changed_one_is_seen(tmp_path: Path, later: None) -> None:
    folder = write_dataset(tmp_path / "d")
    archive = tmp_path / "d.zip"

    def write_zip(edit: bool) -> None:
        with zipfile.ZipFile(archive, "w") as zf:
            for p in sorted(folder.iterdir()):
                body = p.read_bytes()
                zf.writestr(p.name, body.replace(b"scene 1", b"scene 7") if edit else body)

    write_zip(edit=False)
    cache = ContentCache(tmp_path / CACHE_FILE)
    first = inspect(archive, cache)
    assert first.content.digest == fresh_digest(folder)  # a zip and its folder hash alike
    assert inspect(archive, reload(cache)).files_read == 0
    st = archive.stat()
    write_zip(edit=True)
    put_mtime_back(archive, st)
    changed = inspect(archive, reload(cache))
    assert changed.content.digest != first.content.digest and changed.content.digest == fresh_digest(archive)


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: b"",
        lambda blob: blob[: len(blob) // 2],  # torn
        lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),  # one bit flipped: checksum mismatch
        lambda blob: b"not a cache at all",
        lambda blob: blob.replace(b"cache 1\n", b"cache 2\n", 1),  # another format
    ],
)
def test_a_damaged_cache_file_means_hashing_again(tmp_path: Path, later: None, damage) -> None:  # type: ignore[no-untyped-def]
    data = write_dataset(tmp_path / "d")
    path = tmp_path / CACHE_FILE
    cache = ContentCache(path)
    truth = inspect(data, cache).content.digest
    cache.save()
    path.write_bytes(damage(path.read_bytes()))
    damaged = ContentCache(path)
    assert damaged.load_problem is not None
    result = inspect(data, damaged)
    assert result.content.digest == truth and result.files_read == 21
    assert damaged.save() and ContentCache(path).load_problem is None  # and it heals


def test_a_well_formed_payload_with_wrong_shapes_is_a_miss(tmp_path: Path, later: None) -> None:
    import marshal

    from reconciler.datasets import content_cache

    data = write_dataset(tmp_path / "d")
    path = tmp_path / CACHE_FILE
    payload = marshal.dumps((content_cache.rules_fingerprint(), {str(data): (1, 2, 3)}))
    path.write_bytes(content_cache._MAGIC + hashlib.sha256(payload).digest() + payload)
    cache = ContentCache(path)
    assert cache.load_problem is not None
    assert inspect(data, cache).content.digest == fresh_digest(data)


def test_saving_is_atomic_for_concurrent_readers(tmp_path: Path, later: None) -> None:
    datasets = [write_dataset(tmp_path / f"d{i}", n=10) for i in range(5)]
    path = tmp_path / CACHE_FILE
    stop = threading.Event()
    problems: list[str] = []

    def writer() -> None:
        while not stop.is_set():
            cache = ContentCache(path)
            for d in datasets:
                inspect(d, cache)
                cache.touch()
            cache.save()

    def reader() -> None:
        for _ in range(200):
            cache = ContentCache(path)
            if cache.load_problem is not None:
                problems.append(cache.load_problem)

    threads = [threading.Thread(target=writer), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    try:
        reader()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert problems == []
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_cache_directory_does_not_fail_the_plan(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    cache = ContentCache(blocked / CACHE_FILE)
    assert inspect(data, cache).content.digest == fresh_digest(data)
    assert cache.save() is False


def test_a_read_only_cache_is_used_but_never_written(tmp_path: Path, later: None) -> None:
    data = write_dataset(tmp_path / "d")
    path = tmp_path / CACHE_FILE
    writer = ContentCache(path)
    inspect(data, writer)
    writer.save()
    before = path.read_bytes()
    reader = ContentCache(path, writable=False)
    (data / "extra.txt").write_text("new")
    assert inspect(data, reader).files_read == 2  # extra.txt, and data.jsonl for the layout check
    assert reader.save() is False and path.read_bytes() == before


@pytest.mark.parametrize("module_name", ["scanning", "inspecting", "content_cache", "hashing"])
def test_a_cache_from_other_scanning_or_hashing_code_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module_name: str
) -> None:
    """How StatKeys are taken and packed, and how files are hashed, is part of what a cache is keyed by."""
    import importlib

    from reconciler.datasets import content_cache

    module = importlib.import_module(f"reconciler.datasets.{module_name}")
    monkeypatch.setattr(content_cache, "_fingerprint", None)
    before = content_cache.rules_fingerprint()
    other = tmp_path / "other.py"
    other.write_text("# another version of the module\n")
    monkeypatch.setattr(module, "__file__", str(other))
    monkeypatch.setattr(content_cache, "_fingerprint", None)
    assert content_cache.rules_fingerprint() != before


def test_a_cache_from_another_trainer_table_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module a layout check names in FINGERPRINT_ALSO counts, imported or not (it is found, not imported)."""
    import importlib
    import sys

    from reconciler.datasets import content_cache

    names = [
        n for m in content_cache._rule_modules() for n in [m[0]] if not n.startswith("reconciler.datasets.")
    ]
    assert names, "no layout module names a module it also depends on"
    other = tmp_path / "other.py"
    other.write_text("# another version of the table\n")
    for name in names:
        module = importlib.import_module(name)
        monkeypatch.setattr(content_cache, "_fingerprint", None)
        before = content_cache.rules_fingerprint()
        with monkeypatch.context() as m:
            m.delitem(sys.modules, name)  # not imported: found by its spec, the same file
            m.setattr(content_cache, "_fingerprint", None)
            assert content_cache.rules_fingerprint() == before
            assert name not in sys.modules
        monkeypatch.setattr(module, "__file__", str(other))
        monkeypatch.setattr(content_cache, "_fingerprint", None)
        assert content_cache.rules_fingerprint() != before


def test_a_clean_folder_the_child_scanned_is_not_scanned_again(
    tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch, scan_path: str
) -> None:
    data = write_dataset(tmp_path / "d")
    cache = ContentCache(tmp_path / CACHE_FILE)
    first = inspect(data, cache)
    scans: list[str] = []
    real = inspecting.scan_folder_keys
    monkeypatch.setattr(inspecting, "scan_folder_keys", lambda p: scans.append(p) or real(p))
    again = inspect(data, reload(cache))
    assert again.files_read == 0 and again.content == first.content and again.layouts == first.layouts
    assert scans == ([] if scan_path == "forked" else [str(data)])
    # a changed folder is the parent's to scan (and hash), whatever the child saw
    (data / "image_5.png").write_bytes(png(99))
    scans.clear()
    changed = inspect(data, reload(cache))
    assert scans == [str(data)] and changed.content.digest == fresh_digest(data)


def test_a_renamed_subfolder_is_seen_though_no_file_in_it_changed(tmp_path: Path, later: None) -> None:
    # renaming a folder leaves its files' StatKeys (ctime included) as they were: only the names tell
    data = write_dataset(tmp_path / "d")
    (data / "extra").mkdir()
    (data / "extra" / "notes.txt").write_text("scene 3 notes")
    cache = ContentCache(tmp_path / CACHE_FILE)
    before = inspect(data, cache).content
    os.rename(data / "extra", data / "flat")  # sorts where "extra" did: the same packed keys
    after = inspect(data, reload(cache)).content
    assert "flat/notes.txt" in after.files and "extra/notes.txt" not in after.files
    assert after.digest != before.digest and after.digest == fresh_digest(data)


def test_fingerprint_also_read_from_the_source_is_what_the_module_says() -> None:
    """The fingerprint stats the files a layout module names in `FINGERPRINT_ALSO` without importing
    it (start-up time); what it reads from the source must be the module's own attribute."""
    import importlib
    import pkgutil

    import reconciler.datasets as package
    from reconciler.datasets import content_cache

    names = [f"reconciler.datasets.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    named = 0
    for name in names:
        file = content_cache._origin(name)
        from_source = content_cache.fingerprint_also("not.imported." + name, file)  # forces the source
        module = importlib.import_module(name)
        assert from_source == tuple(getattr(module, "FINGERPRINT_ALSO", ())), name
        named += bool(from_source)
    assert named >= 1  # the WaveSpeed layout names its trainer table
    fingerprinted = {name for name, _ in content_cache._rule_modules()}
    assert {"reconciler.models.wavespeed_tables", "reconciler.datasets.wavespeed_layout"} <= fingerprinted
