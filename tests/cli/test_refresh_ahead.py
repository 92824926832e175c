"""A plan's refresh done ahead by a forked child (`reconciler/refresh_ahead.py`): used only when it is
the refresh the plan would have done, and the plan is the same either way.

The child reads the state read-only with the Provider configurations of the last refreshing
command (`refresh.hint`); the parent checks them and the state's lineage and serial before
trusting its observations. Each case is one way that could go wrong: the child's answer is of
another state, of a state that moved, of other providers, damaged, or missing; the hint is
missing, planted or stale; there is something the child must leave to the parent (faults to act
out, an open journal row). In each the parent refreshes itself and the plan is unchanged; in the
ordinary case the parent asks the providers nothing and drift is still seen.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler import forked, refresh_ahead
from reconciler.cli import main
from reconciler.datasets.cache_files import write_sealed
from reconciler.loading.load_memo import code_fingerprint
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.providers.interface import Observation, Phase
from reconciler.sandbox import Sandbox
from reconciler.state.sqlite import SqliteStateStore
from reconciler.workspace import Workspace

needs_fork = pytest.mark.skipif(
    not forked.fork_is_safe(), reason="fork is not safe here (another thread runs)"
)


@pytest.fixture
def forkable(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test process has SQLite loaded; the children these tests start never open a database."""
    monkeypatch.setattr(refresh_ahead, "_sqlite_in_use", lambda: False)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch, example_copy: Callable[..., Path]) -> Path:
    """The quickstart, applied: its state and the hint its apply's refresh left."""
    dest = example_copy("manifests/quickstart")
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv(refresh_ahead.OFF_ENV, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    applied = run("apply", "-f", str(dest), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert (dest / ".reconciler" / refresh_ahead.HINT_FILE).is_file()
    return dest


@pytest.fixture
def own_refreshes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each refresh an in-process Workspace does itself (the child's is `engine.refreshing.refresh`)."""
    calls: list[str] = []
    real = Workspace._refresh

    def counted(self: Workspace, *args: Any, **kwargs: Any) -> Any:
        calls.append("refresh")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Workspace, "_refresh", counted)
    return calls


def requests(root: Path) -> int:
    """The provider requests the sandbox counted since the last call (and zeroes them)."""
    db = root / ".reconciler" / "sandbox.db"
    done = run("sandbox", "stats", "--db", str(db), "--json", "--reset")
    assert done.exit_code == 0, done.output
    return sum(json.loads(done.output).values())


# The CLI in a process of its own, as a user runs it (the fork happens before SQLite is loaded);
# it notes whether the child's answer reached the parent: with the sandbox's request count (the
# child's and, if the parent refreshed again, the parent's) that says who asked the providers.
PROBE = """
import os, sys
from reconciler import refresh_ahead
real = refresh_ahead.claim
def claim():
    answer = real()
    with open(os.environ["PROBE_MARK"], "a") as mark:
        mark.write("answer\\n" if answer is not None else "none\\n")
    return answer
refresh_ahead.claim = claim
sys.argv[0] = "reconciler"
from reconciler.cli import run
run()
"""


def plan_cli(root: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    mark = root.parent / "probe.mark"
    mark.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "plan", "-f", str(root), "--detailed-exitcode", *args],
        env={**os.environ, "PROBE_MARK": str(mark), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, (mark.read_text().split() if mark.exists() else [])


def plan_text(output: str) -> str:
    return "\n".join(line for line in output.splitlines() if "created 20" not in line)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------- through the CLI


def test_a_plan_takes_the_childs_refresh_and_is_the_plan_the_parent_would_make(root: Path) -> None:
    state = root / ".reconciler" / "state.db"
    before = digest(state)
    requests(root)
    itself, claimed = plan_cli(root, **{refresh_ahead.OFF_ENV: "0"})
    assert itself.returncode == 0, itself.stderr
    assert claimed in ([], ["none"])  # turned off: no child, no answer
    asked = requests(root)
    assert asked > 0
    ahead, claimed = plan_cli(root)
    assert ahead.returncode == 0, ahead.stderr
    assert claimed == ["answer"]
    assert requests(root) == asked  # the child's requests alone: the parent did not ask again
    assert plan_text(ahead.stdout) == plan_text(itself.stdout) and "No changes" in ahead.stdout
    assert digest(state) == before  # a plan never writes the state, through the child either


def test_drift_is_seen_through_the_child(root: Path) -> None:
    sandbox = Sandbox(db_path=root / ".reconciler" / "sandbox.db")
    client = DashScopeClient("http://127.0.0.1", "test-key", transport=sandbox.transport())
    deployed = [d.deployed_model for d in client.iter_deployments()]
    assert len(deployed) == 1
    client.delete_deployment(deployed[0])
    drifted, claimed = plan_cli(root)
    assert drifted.returncode == 2, drifted.stderr
    assert "deleted outside reconciler" in drifted.stdout
    assert claimed == ["answer"]


def test_changed_providers_make_the_parent_refresh_itself_once_then_the_hint_follows(root: Path) -> None:
    provider = root / "provider.yaml"
    provider.write_text(provider.read_text().replace("DASHSCOPE_API_KEY", "DASHSCOPE_OTHER_KEY"))
    requests(root)
    first, _ = plan_cli(root)
    assert first.returncode == 0, first.stderr
    asked = requests(root)
    second, claimed = plan_cli(root)
    assert second.returncode == 0 and claimed == ["answer"]
    # the first plan's child used the old configuration: its answer was not trusted, so the
    # parent asked again; the second's child had the new one
    assert requests(root) * 2 == asked
    assert plan_text(first.stdout) == plan_text(second.stdout)


@pytest.mark.parametrize("how", ["no hint", "faults", "log level"])
def test_without_a_usable_child_the_parent_refreshes_itself(root: Path, how: str) -> None:
    extra: dict[str, str] = {}
    args: list[str] = []
    if how == "no hint":
        (root / ".reconciler" / refresh_ahead.HINT_FILE).unlink()
    elif how == "faults":  # they count requests: the child's would move them
        extra["RECONCILER_SANDBOX_FAULTS"] = json.dumps({"rules": []})
    else:  # the child's requests would be logged by nobody
        args = ["--log-level", "info"]
    requests(root)
    done, claimed = plan_cli(root, *args, **extra)
    assert done.returncode == 0, done.stderr
    assert claimed in ([], ["none"])
    assert requests(root) > 0
    assert (root / ".reconciler" / refresh_ahead.HINT_FILE).is_file()  # kept for the next one


def test_the_faults_variable_is_the_sandboxs() -> None:
    from reconciler.sandbox import sandbox
    from reconciler.wiring import FAULTS_ENV

    assert FAULTS_ENV == sandbox.FAULTS_ENV


# ---------------------------------------------------------------------- the child's work


def test_the_child_reads_nothing_ahead_when_it_must_leave_the_refresh_to_the_parent(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace([root])
    answer = ws.observe_ahead()
    assert isinstance(answer, tuple) and answer[0] == ws.state_display and answer[3]

    store = SqliteStateStore.open(ws.state_path, readonly=False)
    entry = store.journal_open("FineTune/money-rain", "create", "dashscope", {"a": 1}, {"f": 1})
    assert ws.observe_ahead() is None  # an open journal row: its recovery comes first
    store.journal_close(entry, "resolved")
    store.close()
    assert ws.observe_ahead() is not None

    monkeypatch.setenv("RECONCILER_SANDBOX_FAULTS", json.dumps({"rules": []}))
    assert ws.observe_ahead() is None
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS")

    (root / ".reconciler" / refresh_ahead.HINT_FILE).unlink()
    assert ws.observe_ahead() is None


class _Planted:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("touch planted",))


def test_a_planted_or_foreign_hint_is_no_hint(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = root / ".reconciler"
    monkeypatch.chdir(root)
    write_sealed(
        directory / refresh_ahead.HINT_FILE,
        b"reconciler refresh hint 1\n",
        code_fingerprint(),
        pickle.dumps({"x": _Planted()}),
    )
    assert refresh_ahead.read_hint(directory) is None
    assert not (root / "planted").exists()
    write_sealed(
        directory / refresh_ahead.HINT_FILE, b"reconciler refresh hint 1\n", "other code", pickle.dumps({})
    )
    assert refresh_ahead.read_hint(directory) is None  # written by other code
    assert Workspace([root]).observe_ahead() is None


# ---------------------------------------------------------------------- what the parent trusts


def _plan_with_answer(root: Path, monkeypatch: pytest.MonkeyPatch, answer: Any) -> Any:
    monkeypatch.setattr(refresh_ahead, "claim", lambda: answer)
    return Workspace([root]).plan()


def _variants(answer: tuple[Any, ...], root: Path) -> dict[str, Any]:
    shown, (lineage, serial), providers, observations, diagnostics, warnings = answer
    other = {
        name: dataclasses.replace(config, spec=config.spec.model_copy(update={"api_key_env": "OTHER_KEY"}))
        for name, config in providers.items()
    }
    return {
        "another state": (
            "/elsewhere/state.db",
            (lineage, serial),
            providers,
            observations,
            diagnostics,
            warnings,
        ),
        "an older serial": (shown, (lineage, serial - 1), providers, observations, diagnostics, warnings),
        "another lineage": (shown, ("other", serial), providers, observations, diagnostics, warnings),
        "other providers": (shown, (lineage, serial), other, observations, diagnostics, warnings),
        "no providers": (shown, (lineage, serial), {}, observations, diagnostics, warnings),
        "short": answer[:5],
        "not a tuple": ["x"] * 6,
        "nothing": None,
    }


def test_the_parent_uses_only_an_answer_of_its_state_and_providers(
    root: Path, own_refreshes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = Workspace([root]).observe_ahead()
    assert answer is not None
    trusted = _plan_with_answer(root, monkeypatch, answer)
    assert own_refreshes == [] and not trusted.has_changes
    for why, variant in _variants(answer, root).items():
        own_refreshes.clear()
        plan = _plan_with_answer(root, monkeypatch, variant)
        assert own_refreshes == ["refresh"], why
        assert not plan.has_changes, why


def test_an_answer_of_a_state_that_moved_since_is_not_used(
    root: Path, own_refreshes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace([root])
    answer = ws.observe_ahead()
    assert answer is not None
    writer = SqliteStateStore.open(ws.state_path, readonly=False)

    addresses = sorted(writer.all(), reverse=True)

    def write() -> None:  # another command writes the state (`state rm`)
        writer.remove(addresses.pop(0), event="removed")

    write()  # after the child read it, before this plan did
    _plan_with_answer(root, monkeypatch, answer)
    assert own_refreshes == ["refresh"]

    own_refreshes.clear()
    answer = ws.observe_ahead()  # the state as it is now

    def claim_after_a_write() -> Any:  # while this plan loaded (the writer is open: a live reader sees it)
        write()
        return answer

    monkeypatch.setattr(refresh_ahead, "claim", claim_after_a_write)
    Workspace([root]).plan()
    assert own_refreshes == ["refresh"]

    own_refreshes.clear()

    def read_after_a_write() -> Any:  # this plan read the rows, then the state moved, then the child read it
        write()
        return ws.observe_ahead()

    monkeypatch.setattr(refresh_ahead, "claim", read_after_a_write)
    Workspace([root]).plan()
    assert own_refreshes == ["refresh"]
    writer.close()


def test_the_child_offers_nothing_when_the_state_moved_while_it_read_it(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace([root])
    writer = SqliteStateStore.open(ws.state_path, readonly=False)
    addresses = sorted(writer.all())
    writer.remove(addresses.pop(), event="removed")  # its WAL files exist: a reader sees what it writes
    real = SqliteStateStore.all

    def all_then_a_write(self: SqliteStateStore) -> Any:
        records = real(self)
        if self is not writer:
            writer.remove(addresses.pop(), event="removed")
        return records

    monkeypatch.setattr(SqliteStateStore, "all", all_then_a_write)
    assert ws.observe_ahead() is None
    writer.close()


def test_the_childs_warnings_are_logged_by_the_parent(
    root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    answer = Workspace([root]).observe_ahead()
    assert answer is not None
    said = ("reconciler.providers.dashscope", logging.WARNING, "the provider said something")
    with caplog.at_level(logging.WARNING, logger="reconciler"):
        _plan_with_answer(root, monkeypatch, (*answer[:5], [said]))
    assert "the provider said something" in caplog.text


# ---------------------------------------------------------------------- the child itself


def _started(work: Callable[[], Any]) -> int:
    assert refresh_ahead.start(work)
    child = refresh_ahead._child
    assert child is not None and child.pid is not None
    return child.pid


def reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@needs_fork
def test_a_childs_answer_reaches_the_parent_and_the_child_is_reaped(forkable: None) -> None:
    pid = _started(lambda: {"observations": list(range(100_000))})  # more than a pipe holds
    assert refresh_ahead.claim() == {"observations": list(range(100_000))}
    assert reaped(pid) and refresh_ahead._child is None
    assert refresh_ahead.claim() is None  # asked twice: nothing


@needs_fork
@pytest.mark.parametrize(
    "work",
    [lambda: None, lambda: 1 / 0, lambda: threading.Lock(), lambda: os._exit(0)],
    ids=["nothing", "raises", "unpicklable", "exits quietly"],
)
def test_a_child_without_an_answer_means_none(work: Callable[[], Any], forkable: None) -> None:
    pid = _started(work)
    assert refresh_ahead.claim() is None
    assert reaped(pid)


@needs_fork
def test_a_discarded_child_is_killed_at_once_and_reaped(forkable: None) -> None:
    pid = _started(lambda: time.sleep(60))
    started = time.monotonic()
    refresh_ahead.discard()
    assert time.monotonic() - started < 5
    assert reaped(pid) and refresh_ahead._child is None


@pytest.mark.parametrize("opener", ["state file", "state read-only", "state in memory", "sandbox"])
def test_no_child_once_this_process_opened_a_database(
    opener: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler import forked
    from reconciler.sandbox.store import Store

    monkeypatch.setattr(forked, "_database_opened", False)
    assert not refresh_ahead._sqlite_in_use()  # SQLite and our stores imported, nothing opened: safe
    path = tmp_path / "state.db"
    if opener == "state read-only":
        SqliteStateStore.open(path).close()
        monkeypatch.setattr(forked, "_database_opened", False)
        SqliteStateStore.open(path, readonly=True).close()
    elif opener == "state file":
        SqliteStateStore.open(path).close()
    elif opener == "state in memory":
        SqliteStateStore.in_memory().close()
    else:
        Store(tmp_path / "sandbox.db").close()
    assert refresh_ahead._sqlite_in_use()
    assert not refresh_ahead.start(lambda: 1)  # closed again does not matter: SQLite's bookkeeping stays
    assert refresh_ahead._child is None


def test_no_child_when_turned_off_or_when_a_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresh_ahead, "_sqlite_in_use", lambda: False)
    monkeypatch.setenv(refresh_ahead.OFF_ENV, "0")
    assert not refresh_ahead.start(lambda: 1)
    monkeypatch.delenv(refresh_ahead.OFF_ENV)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not refresh_ahead.start(lambda: 1)
    finally:
        stop.set()
        thread.join()
    assert refresh_ahead._child is None


@needs_fork
def test_the_child_holds_none_of_the_parents_descriptors(tmp_path: Path, forkable: None) -> None:
    lock_path = tmp_path / "lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    started = tmp_path / "started"

    def hold() -> None:
        started.write_text("x")
        time.sleep(60)

    pid = _started(hold)
    os.close(fd)  # the parent lets go: no copy of the descriptor may keep the lock
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    other = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the child still held it
    finally:
        os.close(other)
        refresh_ahead.discard()
    assert reaped(pid)


# ---------------------------------------------------------------------- the parent's wait


def _released_by(flag: Path) -> Callable[[], Any]:
    def work() -> Any:
        while not flag.exists():
            time.sleep(0.005)
        return {"answer": list(range(10_000))}

    return work


def test_nothing_is_done_meanwhile_without_a_child() -> None:
    taken: list[int] = []
    refresh_ahead.meanwhile(taken.append(i) or None for i in range(10))  # type: ignore[func-returns-value]
    assert taken == []


@needs_fork
def test_the_parent_works_meanwhile_until_the_childs_answer_begins(tmp_path: Path, forkable: None) -> None:
    flag = tmp_path / "release"
    _started(_released_by(flag))
    taken = []

    def steps() -> Any:
        for i in range(2_000):  # 10 s of steps, if nothing stopped them
            taken.append(i)
            if i == 3:
                flag.touch()  # the child answers from now on
            if i >= 3:
                time.sleep(0.005)
            yield

    refresh_ahead.meanwhile(steps())
    assert 4 <= len(taken) < 2_000  # all the steps before the release, and it stopped after it
    assert refresh_ahead.claim() == {"answer": list(range(10_000))}


@needs_fork
def test_the_parent_stops_working_meanwhile_when_its_work_is_done(tmp_path: Path, forkable: None) -> None:
    flag = tmp_path / "release"
    pid = _started(_released_by(flag))
    started = time.monotonic()
    refresh_ahead.meanwhile(iter([None, None, None]))
    assert time.monotonic() - started < 5  # it did not wait for the answer: `claim` does
    assert refresh_ahead._child is not None and refresh_ahead._child.pid == pid
    flag.touch()
    assert refresh_ahead.claim() == {"answer": list(range(10_000))}
    assert reaped(pid)


# ---------------------------------------------------------------------- the observations sent


def _observation(seed: int) -> Observation:
    """Every field set, none to its default (a field `pack_observations` forgot would be lost)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Observation):
        if f.name == "phase":
            values[f.name] = list(Phase)[seed % len(Phase)]
        elif f.name == "created_at":
            values[f.name] = 1_700_000_000.5 + seed
        elif f.default_factory is not dataclasses.MISSING:  # a dict
            values[f.name] = {f"{f.name}-{seed}": [seed, {"n": None, "ok": True, "x": 1.5}]}
        else:
            values[f.name] = f"{f.name}-{seed}"
    return Observation(**values)


def test_observations_are_sent_as_rows_and_come_back_equal() -> None:
    observations = {f"FineTune/ft-{i}": _observation(i) for i in range(20)}
    packed = refresh_ahead.pack_observations(observations)
    assert isinstance(packed, bytes)
    back = refresh_ahead.unpack_observations(packed)
    assert back == observations and list(back) == list(observations)
    assert all(type(o.phase) is Phase for o in back.values())


class _Word(str):
    pass


@pytest.mark.parametrize(
    "odd",
    [
        lambda o: setattr(o, "phase", "ready"),  # not a Phase
        lambda o: o.object.update(word=_Word("x")),  # marshal would give back a plain str
        lambda o: o.facts.update(when=Phase.READY),  # a str subclass again
    ],
    ids=["phase-not-a-Phase", "str-subclass", "enum-value"],
)
def test_observations_marshal_cannot_keep_exactly_are_sent_as_they_are(odd: Callable[[Any], None]) -> None:
    observations = {"FineTune/ft-0": _observation(0), "FineTune/ft-1": _observation(1)}
    odd(observations["FineTune/ft-1"])
    packed = refresh_ahead.pack_observations(observations)
    assert packed is observations  # pickled with the answer, as before
    assert refresh_ahead.unpack_observations(packed) == observations


def test_a_plan_prepares_its_planning_while_it_would_wait_for_the_child(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.engine import planning

    given: list[Any] = []
    monkeypatch.setattr(refresh_ahead, "meanwhile", given.append)
    done = run("plan", "-f", str(root), "--detailed-exitcode")
    assert done.exit_code == 0, done.output
    assert [g.gi_code for g in given] == [planning.prepare.__code__]  # before the answer is claimed
