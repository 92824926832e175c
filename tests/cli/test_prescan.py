"""The forked dataset stat pass falls back to the serial scan whenever it cannot help, and never lingers.

`reconciler.cli.prescan` forks a child that stats the dataset folders the content cache names
while the parent starts up. Each case here is one way that can go wrong (the child fails, is slow,
sends garbage, is never asked; fork is unsafe or not worth it) and checks the parent gets no scans
(so it scans itself), that the child is reaped, and that an edit is still seen through the CLI.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from reconciler.cli import prescan
from reconciler.datasets import content_of
from reconciler.datasets.scanning import claim_prescan, prescan_folders

REPO = Path(__file__).resolve().parents[2]


def reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def run_child(tmp_path: Path, work) -> tuple[dict, int]:  # type: ignore[no-untyped-def]
    marker = str(tmp_path / "datasets.cache")
    child = prescan._Child(Path(marker), work)
    pid = child.pid
    assert pid is not None
    return claim_prescan(marker), pid


def test_a_child_scans_and_sends_back_what_the_parent_would_compute(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    scans, pid = run_child(tmp_path, lambda _: marshal.dumps(prescan_folders([str(folder)])))
    assert scans == prescan_folders([str(folder)]) and str(folder) in scans
    assert reaped(pid)


def test_a_failing_child_means_no_scans(tmp_path: Path) -> None:
    def fail(_: Path) -> bytes:
        raise RuntimeError("boom")

    scans, pid = run_child(tmp_path, fail)
    assert scans == {} and reaped(pid)


def test_a_child_sending_garbage_means_no_scans(tmp_path: Path) -> None:
    scans, pid = run_child(tmp_path, lambda _: b"\x00not marshal")
    assert scans == {} and reaped(pid)
    scans, pid = run_child(tmp_path, lambda _: marshal.dumps([1, 2]))  # marshal, but not a dict
    assert scans == {} and reaped(pid)


def test_a_slow_child_is_killed_and_the_parent_scans_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prescan, "WAIT_S", 0.2)

    def slow(_: Path) -> bytes:
        time.sleep(60)
        return marshal.dumps({})

    started = time.monotonic()
    scans, pid = run_child(tmp_path, slow)
    assert scans == {} and reaped(pid)
    assert time.monotonic() - started < 30  # it did not wait for the child's minute


def test_a_child_never_asked_is_killed_and_reaped_at_exit(tmp_path: Path) -> None:
    child = prescan._Child(Path(tmp_path / "datasets.cache"), lambda _: (time.sleep(60), b"")[1])
    pid = child.pid
    assert pid is not None and not reaped(pid)
    child.stop()  # what the exit handler runs
    assert reaped(pid) and child.fd == -1
    child.stop()  # idempotent
    assert claim_prescan(str(tmp_path / "datasets.cache")) == {}  # the offer is gone with the child


def test_the_child_says_nothing_on_the_parents_streams(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    def chatty(_: Path) -> bytes:
        print("from the child")
        os.write(2, b"child stderr\n")
        return marshal.dumps({})

    run_child(tmp_path, chatty)
    out, err = capfd.readouterr()
    assert "child" not in out and "child" not in err


@pytest.fixture
def big_cache(tmp_path: Path) -> Path:
    cache = tmp_path / ".reconciler" / "datasets.cache"
    cache.parent.mkdir()
    cache.write_bytes(b"x" * 16)
    return tmp_path


def test_nothing_is_forked_when_it_is_unsafe_or_not_worth_it(
    big_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forks: list[Path] = []
    monkeypatch.setattr(prescan, "_Child", lambda cache_file, work: forks.append(cache_file))
    paths = (str(big_cache),)
    assert prescan.start(paths, None, min_bytes=16) and forks == [
        big_cache / ".reconciler" / "datasets.cache"
    ]
    forks.clear()
    assert not prescan.start(paths, None, min_bytes=17)  # a small cache: the scan is cheaper than a fork
    (big_cache / "sub").mkdir()
    assert not prescan.start((str(big_cache / "sub"),), None, min_bytes=0)  # no cache file
    assert not prescan.start((), None, min_bytes=0)  # the project file decides the state: not guessed
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not prescan.start(paths, None, min_bytes=0)  # not Linux
    monkeypatch.undo()
    monkeypatch.setattr(prescan, "_Child", lambda cache_file, work: forks.append(cache_file))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not prescan.start(paths, None, min_bytes=0)  # a thread is running: fork copies only this one
    finally:
        stop.set()
        thread.join()
    assert forks == []


def test_the_cache_file_is_looked_for_where_the_workspace_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("")
    assert prescan.cache_file_for((str(tmp_path),), None) == tmp_path / ".reconciler" / "datasets.cache"
    assert (
        prescan.cache_file_for((str(tmp_path / "m.yaml"),), None)
        == tmp_path / ".reconciler" / "datasets.cache"
    )
    assert prescan.cache_file_for((str(tmp_path),), str(tmp_path / "s" / "state.db")) == (
        tmp_path / "s" / "datasets.cache"
    )
    assert prescan.cache_file_for((str(tmp_path),), "postgresql://h/db") == (
        tmp_path / ".reconciler" / "datasets.cache"
    )


# The real entry point in a fresh interpreter (no test threads), with the size threshold at 0 so a
# quickstart-sized cache forks too; it records how many folder scans the child handed over.
PROBE = """
import sys
from reconciler.cli import prescan
prescan.MIN_CACHE_BYTES = 0
collect = prescan._Child.collect
def recording(self):
    scans = collect(self)
    open(sys.argv[1], "a").write(str(len(scans)) + "\\n")
    return scans
prescan._Child.collect = recording
from reconciler.cli import main
main(args=sys.argv[2:], prog_name="reconciler")
"""


def plan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "handed"), "plan", "-f", "m", "--refresh=false", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def digest_in(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    plans = [json.loads(line)["plan"] for line in result.stdout.splitlines() if '"type": "plan"' in line]
    return next(a["content"]["digest"] for a in plans[0]["actions"] if a["kind"] == "Dataset")


def test_through_the_cli_an_edit_with_the_mtime_put_back_is_still_seen(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "manifests" / "quickstart", tmp_path / "m", ignore=shutil.ignore_patterns(".reconciler")
    )
    data = tmp_path / "m" / "data" / "money-rain" / "data.jsonl"
    first = digest_in(plan(tmp_path, "--json"))  # fills the caches (no child: there is no cache yet)
    assert not (tmp_path / "handed").exists()
    time.sleep(2.1)  # the files leave the racy window of the scan that cached them
    assert digest_in(plan(tmp_path, "--json")) == first
    handed = [int(n) for n in (tmp_path / "handed").read_text().split()]
    assert handed == [1]  # the child scanned the cached dataset, and the parent took its scan
    st = data.stat()
    data.write_text(data.read_text().replace("golden coins", "silver coins", 1))  # same size
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -d: the old mtime back
    edited = digest_in(plan(tmp_path, "--json"))
    assert edited != first and edited == content_of(data.parent, "dashscope").digest


def test_the_cache_file_name_is_the_content_caches() -> None:
    from reconciler.datasets import content_cache

    assert prescan.CACHE_FILE == content_cache.CACHE_FILE
