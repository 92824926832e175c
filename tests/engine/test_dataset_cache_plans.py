"""The dataset content cache through the workspace: a no-change plan reads no dataset file, every edit still retrains.

What `tests/datasets/test_content_cache.py` proves for one dataset, end to end: apply, then plans
against the same files; the cache lives beside the state (`.reconciler/datasets.cache`), never
inside `state.db`, and apply's pre-upload re-check of the content goes through it.

Every test runs twice: the plan's dataset checks scan each folder themselves, or take the scans a
forked child made of the folders the cache file names (`reconciler.cli.prescan`, as `plan` does).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reconciler.cli import prescan
from reconciler.datasets import inspecting, scanning, sources
from reconciler.engine.outcomes import Outcome
from reconciler.loading import dataset_checks
from reconciler.models.changes import ChangeClass
from reconciler.models.plans import ActionType


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every dataset file a folder source opens (what DirectorySource calls)."""
    calls: list[str] = []

    def counting_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(os.path.basename(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(sources, "open", counting_open, raising=False)
    real_open_fd = sources.open_fd

    def counting_open_fd(path: str) -> int:  # a small file's one whole read (DirectorySource.read_small)
        calls.append(os.path.basename(path))
        return real_open_fd(path)

    monkeypatch.setattr(sources, "open_fd", counting_open_fd)
    return calls


@pytest.fixture(autouse=True, params=["serial", "forked"])
def scan_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """In "forked", each load's dataset checks claim scans a real child took just before: of the
    folders the cache file names, sent back through the pipe. Returns how many folders each had."""
    handed: list[int] = []

    def forked_claim(cache_file: str) -> dict[str, scanning.Prescanned]:
        prescan._Child(Path(cache_file), prescan._scan_known_folders)
        scans = scanning.claim_prescan(cache_file)
        handed.append(len(scans))
        return scans

    if request.param == "forked":
        monkeypatch.setattr(dataset_checks, "claim_prescan", forked_claim)
    return handed


@pytest.fixture(autouse=True)
def files_are_old(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans happen a minute after the files were written, so none is racily clean."""
    monkeypatch.setattr(inspecting, "now_ns", lambda: time.time_ns() + 60 * 10**9)


def test_a_no_change_plan_opens_no_dataset_file(make_env, opened: list[str], scan_path: list[int]):  # type: ignore[no-untyped-def]
    env = make_env()
    env.workspace().apply()
    assert (env.root / ".reconciler" / "datasets.cache").is_file()
    opened.clear()
    scan_path.clear()
    assert not env.workspace().plan().has_changes
    assert not env.workspace().plan(refresh=False).has_changes
    assert opened == []
    if scan_path:  # the forked path: the child scanned every dataset the cache knew
        assert scan_path[0] > 0 and len(scan_path) == 2


def test_a_same_size_caption_edit_with_the_mtime_put_back_still_retrains(make_env, opened: list[str]):  # type: ignore[no-untyped-def]
    env = make_env()
    env.workspace().apply()
    data = env.root / "data" / "money-rain" / "data.jsonl"
    st = data.stat()
    text = data.read_text()
    assert "golden coins" in text
    data.write_text(text.replace("golden coins", "silver coins", 1))  # same length
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -d: the old mtime back
    assert (data.stat().st_size, data.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    opened.clear()
    plan = env.workspace().plan(refresh=False)
    ds = next(a for a in plan.actions if a.address == "Dataset/money-rain-train")
    assert ds.action is ActionType.REPLACE and ds.facts["files_modified"] == ["data.jsonl"]
    ft = next(a for a in plan.actions if a.address == "FineTune/money-rain")
    assert ft.action is ActionType.REPLACE and ft.change_class is ChangeClass.RETRAIN
    assert opened == ["data.jsonl"]  # the changed file, read once for hash, samples and layout


def test_apply_rechecks_the_content_through_the_cache_and_refuses_a_changed_dataset(make_env):  # type: ignore[no-untyped-def]
    env = make_env()
    ws = env.workspace()
    saved = ws.plan()
    image = env.root / "data" / "money-rain" / "image_1.png"
    st = image.stat()
    body = bytearray(image.read_bytes())
    body[-1] ^= 0xFF  # same size
    image.write_bytes(bytes(body))
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns))
    _, result = ws.apply(saved)  # the same workspace: its cache saw the old bytes at plan time
    assert result is not None
    outcome = result.outcomes["Dataset/money-rain-train"]
    assert outcome.outcome is Outcome.FAILED and "changed since the plan was made" in outcome.message


def test_plan_never_writes_the_cache_into_the_state_database(make_env):  # type: ignore[no-untyped-def]
    env = make_env()
    env.workspace().apply()
    state_dir = env.root / ".reconciler"
    before = {p.name: p.read_bytes() for p in state_dir.iterdir() if p.name.startswith("state")}
    (env.root / "data" / "money-rain" / "extra.txt").write_text("new file: the cache is rewritten")
    env.workspace().plan()
    after = {p.name: p.read_bytes() for p in state_dir.iterdir() if p.name.startswith("state")}
    assert before == after


def test_bad_manifests_write_no_cache(make_env):  # type: ignore[no-untyped-def]
    env = make_env()
    env.edit("money-rain.yaml", "lora_rank: 32", "lora_rank: 48")
    with pytest.raises(Exception, match="invalid manifests"):
        env.workspace().plan()
    assert not (env.root / ".reconciler").exists()


def test_a_lost_cache_just_means_hashing_again(make_env, opened: list[str]):  # type: ignore[no-untyped-def]
    env = make_env()
    env.workspace().apply()
    cache = Path(env.root / ".reconciler" / "datasets.cache")
    cache.write_bytes(b"garbage")
    opened.clear()
    assert not env.workspace().plan(refresh=False).has_changes
    assert len(opened) == len(list((env.root / "data" / "money-rain").iterdir()))
    opened.clear()
    assert not env.workspace().plan(refresh=False).has_changes
    assert opened == []  # healed
