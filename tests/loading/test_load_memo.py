"""The load memo gives exactly what a full load gives, and only for exactly the same inputs.

A hit skips parsing and validating, so correctness comes down to: a hit is the full load's
result (every resource, field position and diagnostic); any change to any input (a file's
bytes, its name, the set of files, a patch, the working directory, the code) is a miss; the
dataset checks still run on a hit, and the kept spec hashes are dropped when a dataset changed;
anything odd on disk (damaged, planted) is a miss and runs nothing.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler import forked
from reconciler.engine.identity import spec_hashes
from reconciler.loading import load_memo as lm
from reconciler.loading.load_memo import LoadMemo, derive
from reconciler.loading.loader import LoadResult, load
from reconciler.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "manifests" / "quickstart"
PROJECT = REPO / "manifests" / "project"


def snapshot(result: LoadResult) -> Any:
    m = result.manifests
    return (
        m.root,
        list(m.files),
        {n: (p.name, p.spec.model_dump(mode="json"), p.location) for n, p in m.providers.items()},
        [
            (
                a,
                r.kind,
                r.name,
                type(r.spec).__qualname__,
                r.spec.model_dump(mode="json"),
                r.lifecycle.model_dump(mode="json"),
                r.labels,
                r.location,
                dict(r.field_locations),
                r.content,
                r.moved_from,
            )
            for a, r in m.resources.items()
        ],
        [(d.message, d.location, d.address, d.field, d.severity) for d in result.diagnostics],
        [(n.real, n.shown, n.suffix, n.order) for n in result.near_misses],
    )


def load_with_memo(state_dir: Path, paths: list[Path], **kw: Any) -> tuple[LoadResult, LoadMemo]:
    memo = LoadMemo.in_directory(state_dir)
    result = load(paths, memo=memo, **kw)
    if result.draft is not None and result.ok:
        m = result.manifests
        memo.save(result.draft, m, derive(m, m.topological_order, lambda: spec_hashes(m)), background=False)
    return result, memo


def assert_same_as_full(state_dir: Path, paths: list[Path], *, expect_hit: bool, **kw: Any) -> LoadResult:
    full = load(paths, **kw)
    got, memo = load_with_memo(state_dir, paths, **kw)
    assert memo.hit is expect_hit
    assert snapshot(got) == snapshot(full)
    if got.derived is not None:
        assert got.derived.hashes == spec_hashes(full.manifests)
        assert got.derived.order == full.manifests.topological_order()
    return got


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(QUICKSTART, tmp_path / "m", ignore=shutil.ignore_patterns(".reconciler"))
    return tmp_path / "m"


def test_a_hit_is_the_full_load(tree: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    hit = assert_same_as_full(state, [tree], expect_hit=True, cwd=tmp_path)
    assert hit.derived is not None  # the spec hashes came with it


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_an_environment_with_patches_hits_and_matches(tmp_path: Path, env: str) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".reconciler"))
    paths, patches = [project / "shared"], [project / "envs" / env / "patches.yaml"]
    state = tmp_path / "state"
    assert_same_as_full(state, paths, expect_hit=False, cwd=project, patches=patches)
    assert_same_as_full(state, paths, expect_hit=True, cwd=project, patches=patches)
    (project / "envs" / env / "patches.yaml").write_text(
        (project / "envs" / env / "patches.yaml").read_text() + "\n# edited\n"
    )
    assert_same_as_full(state, paths, expect_hit=False, cwd=project, patches=patches)


def test_a_hits_warnings_are_the_full_loads(tree: Path, tmp_path: Path) -> None:
    ft = tree / "money-rain.yaml"  # 600 steps: a warning of the dataset checks, which run on a hit too
    ft.write_text(ft.read_text().replace("n_epochs: 150", "n_epochs: 100"))
    state = tmp_path / "state"
    first = assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    assert [d for d in first.diagnostics.warnings if "n_epochs" in d.message]
    assert_same_as_full(state, [tree], expect_hit=True, cwd=tmp_path)


def test_a_failed_load_writes_no_memo(tree: Path, tmp_path: Path) -> None:
    ft = tree / "money-rain.yaml"
    ft.write_text(ft.read_text().replace("n_epochs: 150", "n_epochs: 7"))
    result, _ = load_with_memo(tmp_path / "state", [tree], cwd=tmp_path)
    assert not result.ok
    assert not (tmp_path / "state" / lm.MEMO_FILE).exists()


def _edit_same_size_keep_mtime(path: Path) -> None:
    st = path.stat()
    text = path.read_text()
    assert "150" in text
    path.write_text(text.replace("150", "151"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # `touch -d` back: the bytes are what count


def _rename(path: Path) -> None:
    path.rename(path.with_name("renamed-" + path.name))


def _add_file(path: Path) -> None:
    (path.parent / "extra.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Dataset\nmetadata: {name: extra}\n"
        "spec: {provider: dashscope, source: data/money-rain, format: i2v}\n"
    )


def _remove(path: Path) -> None:
    path.unlink()


def _symlink_to_other_content(path: Path) -> None:
    other = path.parent.parent / "elsewhere.yaml"  # outside the tree: its datasets are relative to it
    other.write_text(path.read_text().replace("source: data/", f"source: {path.parent.name}/data/"))
    path.unlink()
    path.symlink_to(other)


def _dataset_file(path: Path) -> None:
    folder = path.parent / "data" / "money-rain"
    (folder / "image_1.png").write_bytes((folder / "image_2.png").read_bytes())  # still a PNG


EDITS = [_edit_same_size_keep_mtime, _rename, _add_file, _remove, _symlink_to_other_content]


@pytest.mark.parametrize("edit", EDITS, ids=lambda f: f.__name__)
def test_every_kind_of_manifest_edit_is_a_miss(tree: Path, tmp_path: Path, edit: Any) -> None:
    state = tmp_path / "state"
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    edit(tree / "money-rain.yaml")
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    assert_same_as_full(state, [tree], expect_hit=True, cwd=tmp_path)


def test_a_changed_dataset_is_seen_on_a_hit_and_its_hashes_recomputed(tree: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    before = assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    _dataset_file(tree / "money-rain.yaml")
    after = assert_same_as_full(state, [tree], expect_hit=True, cwd=tmp_path)  # the manifests did not change
    assert after.derived is None  # the kept hashes were of the old dataset
    ds = "Dataset/money-rain-train"
    assert after.manifests.resources[ds].content != before.manifests.resources[ds].content


def test_another_working_directory_or_argument_is_a_miss(tree: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tree)  # every displayed path differs
    assert_same_as_full(state, [tree / "money-rain.yaml", tree / "provider.yaml"], expect_hit=False, cwd=tree)
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tree, check_data=False)


def test_other_code_is_a_miss(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    monkeypatch.setattr(lm, "_code", "another version of the code")
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)


def test_the_code_fingerprint_sees_an_edited_source_file(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    before = lm._package_files(pkg)
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    assert lm._package_files(pkg) != before


def test_a_damaged_memo_is_a_miss(tree: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    memo_file = state / lm.MEMO_FILE
    blob = memo_file.read_bytes()
    memo_file.write_bytes(blob[: len(blob) // 2])
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)


class _Boom:
    def __reduce__(self) -> Any:
        return (os.system, ("touch planted-ran",))


def test_a_planted_pickle_runs_nothing(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.chdir(tmp_path)
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    memo = LoadMemo.in_directory(state)
    assert memo._stored is not None
    context, files, sources, derived, _ = memo._stored
    planted = pickle.dumps((_Boom(), [], {}, None))
    lm.write_sealed(
        state / lm.MEMO_FILE, lm._MAGIC, lm.code_fingerprint(), (context, files, sources, derived, planted)
    )
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    assert not (tmp_path / "planted-ran").exists()


def test_the_unpickler_refuses_anything_but_models(tmp_path: Path) -> None:
    import io

    for planted in (pickle.dumps(_Boom()), pickle.dumps(print), pickle.dumps(shutil.rmtree)):
        with pytest.raises(pickle.UnpicklingError):
            lm._ModelsOnly(io.BytesIO(planted)).load()


def test_random_edits_never_give_a_stale_load(tmp_path: Path) -> None:
    """Over many seeded edit sequences, a load through the memo is always the full load."""
    rng = random.Random(20261202)
    tree = tmp_path / "m"
    shutil.copytree(QUICKSTART, tree, ignore=shutil.ignore_patterns(".reconciler"))
    state = tmp_path / "state"
    chain = (tree / "money-rain.yaml").read_text()
    variants = [
        lambda t: t.replace("n_epochs: 150", f"n_epochs: {rng.choice([150, 160, 200])}"),
        lambda t: t.replace("capacity: 1", f"capacity: {rng.choice([1, 2])}"),
        lambda t: t.replace("team: effects", f"team: {rng.choice(['effects', 'fx'])}"),
        lambda t: t.replace("checkpoint-600", rng.choice(["checkpoint-600", "checkpoint-300"])),
        lambda t: t,
    ]
    hits = 0
    for _ in range(25):
        action = rng.randrange(4)
        files = sorted(tree.glob("*.yaml"))
        if action == 0:  # rewrite a chain file with random variations
            target = rng.choice([f for f in files if f.name != "provider.yaml"] or files)
            text = chain
            for v in rng.sample(variants, 3):
                text = v(text)
            target.write_text(text)
        elif action == 1 and len(files) > 2:  # rename one
            target = rng.choice([f for f in files if f.name != "provider.yaml"])
            target.rename(tree / f"chain-{rng.randrange(100)}.yaml")
        elif action == 2:  # nothing changes
            pass
        else:  # touch the dataset
            (tree / "data" / "money-rain" / "data.jsonl").write_bytes(
                (QUICKSTART / "data" / "money-rain" / "data.jsonl").read_bytes() + rng.choice([b"", b"\n"])
            )
        full = load([tree], cwd=tmp_path)
        got, memo = load_with_memo(state, [tree], cwd=tmp_path)
        hits += memo.hit
        assert snapshot(got) == snapshot(full)
        if got.derived is not None:
            assert got.derived.hashes == spec_hashes(full.manifests)
    assert hits >= 5  # the memo was exercised, not only missed


def test_the_workspace_uses_and_keeps_the_memo(tree: Path) -> None:
    first = Workspace([tree])
    hashes = first.spec_hashes()
    forked.wait_for_children()
    assert (tree / ".reconciler" / lm.MEMO_FILE).exists()
    again = Workspace([tree])
    assert again.spec_hashes() == hashes
    assert again._hashes is hashes or again._hashes == hashes
    _dataset_file(tree / "money-rain.yaml")
    changed = Workspace([tree])
    fresh = spec_hashes(changed.manifests)
    assert changed.spec_hashes() == fresh != hashes


def test_a_detached_child_holds_none_of_the_parents_descriptors(tmp_path: Path) -> None:
    import fcntl
    import time

    if not forked.fork_is_safe():
        pytest.skip("fork is not safe here (another thread runs)")
    lock_path = tmp_path / "lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    started, done = tmp_path / "started", tmp_path / "done"
    assert forked.run_detached(lambda: (started.write_text("x"), time.sleep(0.5), done.write_text("x")))
    os.close(fd)  # the parent lets go: no copy of the descriptor may keep the lock
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:  # the child is at its work
        time.sleep(0.01)
    other = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the child still held it
    finally:
        os.close(other)
    forked.wait_for_children()
    assert done.read_text() == "x"


def test_the_code_fingerprint_covers_this_packages_files_and_the_plugins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lm, "_code", None)
    before = lm.code_fingerprint()
    monkeypatch.setattr(lm, "_code", None)
    monkeypatch.setattr(lm, "_package_files", lambda root: "an edited source file")
    edited = lm.code_fingerprint()
    monkeypatch.setattr(lm, "_code", None)
    monkeypatch.setattr(lm, "_module_identity", lambda module: f"{module}: another build")
    points = dict(lm.plugin_discovery.registered())
    other = type(next(iter(points.values())))(name="extra", value="someone_elses.plugin:PLUGIN", group="g")
    monkeypatch.setattr(lm.plugin_discovery, "registered", lambda: {**points, "extra": other})
    with_plugin = lm.code_fingerprint()
    monkeypatch.setattr(lm, "_code", None)
    monkeypatch.setattr(lm, "_module_identity", lambda module: f"{module}: that plugin rebuilt")
    rebuilt = lm.code_fingerprint()
    assert len({before, edited, with_plugin, rebuilt}) == 4


def test_a_memo_of_other_code_does_not_steer_the_walk(tree: Path, tmp_path: Path) -> None:
    """The walk skips folders a file's Datasets name; it takes them from the memo only when the
    memo was made by this code with these arguments (other code might read a file otherwise)."""
    import hashlib

    (tree / "sub").mkdir()
    shutil.copy(tree / "provider.yaml", tree / "sub" / "other-provider.yaml")
    (tree / "sub" / "other-provider.yaml").write_text(
        (tree / "provider.yaml").read_text().replace("name: dashscope", "name: second")
    )
    state = tmp_path / "state"
    assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    sha = hashlib.sha256((tree / "money-rain.yaml").read_bytes()).digest()
    lies = {sha: ("sub",)}  # "money-rain.yaml declares sub/ a dataset folder"
    lm.write_sealed(
        state / lm.MEMO_FILE, lm._MAGIC, lm.code_fingerprint(), ("other code", (), lies, None, b"")
    )
    got = assert_same_as_full(state, [tree], expect_hit=False, cwd=tmp_path)
    assert "second" in got.manifests.providers
