"""The real CLI on a shared PostgreSQL state: the team setup of issue 12, end to end.

Each test runs `reconciler` processes against a real server (tests/conftest.py) and the persistent
sandbox: the quickstart applies with `--state postgresql://…`; two shells on one workspace are
serialized (refused naming the holder, or waiting with --lock-timeout); two workspaces in one
database apply at once; a kill -9 of the holder frees the lock at once and the next run resumes
its journal; a server restarted mid-apply stops the apply with one clear line, and the next run
loses nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import postgres_server
import psycopg
import pytest

from reconciler.sandbox import Sandbox
from reconciler.state.postgres import PostgresStateStore

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _quickstart(tmp_path: Path, name: str = "quickstart") -> Path:
    root = tmp_path / name
    shutil.copytree(REPO / "manifests" / "quickstart", root, ignore=shutil.ignore_patterns(".reconciler"))
    return root


def _env(time_scale: str = "20000", **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RECONCILER_SANDBOX_TIME_SCALE": time_scale,
            "RECONCILER_SANDBOX_FIDELITY": "documented",
            "RECONCILER_SETTLE_WINDOW": "3s",
            "NO_COLOR": "1",
        }
    )
    env.pop("RECONCILER_SANDBOX_FAULTS", None)
    env.pop("RECONCILER_STATE", None)
    env.pop("RECONCILER_WORKSPACE", None)
    env.update(extra)
    return env


def _cli(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler.cli", *args, "-f", str(root)]


def _run(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _cli(root, *args), env=env or _env(), capture_output=True, text=True, timeout=timeout
    )


def _trainings(root: Path) -> int:
    """Fine-tune jobs the sandbox ever created (deleted ones included)."""
    sandbox = Sandbox(db_path=root / ".reconciler" / "sandbox.db", fidelity="documented")
    try:
        return len(sandbox.list_objects("fine_tunes"))
    finally:
        sandbox.close()


def _wait_for(condition, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _holder(url: str, workspace: str):
    with PostgresStateStore.open(url, workspace=workspace, readonly=True) as store:
        return store.lock_info()


def _open_journal(url: str, workspace: str) -> list[str]:
    with PostgresStateStore.open(url, workspace=workspace, readonly=True) as store:
        return [f"{e.address} {e.operation}" for e in store.open_journal()]


def test_the_quickstart_runs_on_a_postgresql_state(tmp_path: Path, pg_database: str) -> None:
    root = _quickstart(tmp_path)
    done = _run(root, "apply", "--auto-approve", "--state", pg_database)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (
        root / ".reconciler" / "state.db"
    ).exists()  # the state is in the database, not beside the manifests
    env = _env(RECONCILER_STATE=pg_database)  # the same state, chosen by the environment
    plan = _run(root, "plan", "--detailed-exitcode", env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"state: {pg_database} (workspace {root.resolve().as_posix()})" in plan.stdout
    listed = _run(root, "state", "list", env=env)
    assert sorted(line.split("\t")[0] for line in listed.stdout.splitlines()) == [
        "CheckpointExport/money-rain-c600",
        "Dataset/money-rain-train",
        "Deployment/money-rain",
        "FineTune/money-rain",
    ]
    elsewhere = _run(
        root, "state", "list", "--workspace", "someone-else", env=env
    )  # another workspace: empty
    assert elsewhere.returncode == 0 and elsewhere.stdout == ""
    gone = _run(root, "destroy", "--auto-approve", env=env)
    assert gone.returncode == 0, gone.stdout + gone.stderr


def test_two_shells_on_one_workspace_are_serialized(tmp_path: Path, pg_database: str) -> None:
    root = _quickstart(tmp_path)
    state = ["--state", pg_database, "--workspace", "team/shared"]
    env = _env(time_scale="3000")  # the training takes several seconds: long enough to collide with
    first = subprocess.Popen(
        _cli(root, "apply", "--auto-approve", *state),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(
            lambda: _holder(pg_database, "team/shared") is not None, what="the first apply to take the lock"
        )
        holder = _holder(pg_database, "team/shared")
        assert holder is not None and holder.pid == first.pid and holder.operation == "apply"

        refused = _run(root, "apply", "--auto-approve", *state, env=env)
        assert refused.returncode == 1
        assert (
            f"Error: state is locked by {holder.owner} (pid {first.pid} on {holder.host}), running 'apply' "
            f"since {holder.started_at}"
        ) in refused.stderr
        assert "force-unlock is never needed" in refused.stderr

        waited = _run(root, "apply", "--auto-approve", "--lock-timeout", "170", *state, env=env)
        assert first.wait(timeout=60) == 0
        assert waited.returncode == 0, waited.stdout + waited.stderr
        assert "nothing to do" in waited.stdout  # it ran after the first one, on the state the first one left
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert _trainings(root) == 1


def test_two_workspaces_in_one_database_apply_at_once(tmp_path: Path, pg_database: str) -> None:
    roots = [
        _quickstart(tmp_path, "team-a"),
        _quickstart(tmp_path, "team-b"),
    ]  # their default workspaces differ
    env = _env(time_scale="3000")
    runs = [
        subprocess.Popen(
            _cli(root, "apply", "--auto-approve", "--state", pg_database),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for root in roots
    ]
    both_held = False
    deadline = time.monotonic() + 170
    while any(r.poll() is None for r in runs) and time.monotonic() < deadline:
        holders = [_holder(pg_database, root.resolve().as_posix()) for root in roots]
        both_held = both_held or all(h is not None for h in holders)
        time.sleep(0.05)
    outputs = [r.communicate(timeout=30) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert both_held, "the two applies never held their locks at the same time"
    for root in roots:
        plan = _run(root, "plan", "--detailed-exitcode", "--state", pg_database)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert _trainings(root) == 1


def test_kill_9_of_the_holder_frees_the_lock_at_once_and_the_next_run_resumes_its_journal(
    tmp_path: Path, pg_database: str
) -> None:
    root = _quickstart(tmp_path)
    workspace = "team/killed"
    state = ["--state", pg_database, "--workspace", workspace]
    slow_create = json.dumps({"rules": [{"match": "POST /api/v1/fine-tunes", "latency_ms": 5000}]})
    proc = subprocess.Popen(
        _cli(root, "apply", "--auto-approve", *state),
        env=_env(RECONCILER_SANDBOX_FAULTS=slow_create),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(
            lambda: "FineTune/money-rain create" in _open_journal(pg_database, workspace),
            what="the training's journal row (the create is in flight)",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = time.monotonic()
    _wait_for(lambda: _holder(pg_database, workspace) is None, timeout=5, what="the lock to be freed")
    assert time.monotonic() - killed_at < 1.0  # at once: the session died with the process
    assert _open_journal(pg_database, workspace) == ["FineTune/money-rain create"]

    done = _run(root, "apply", "--auto-approve", *state)  # no force-unlock: just run again
    assert done.returncode == 0, done.stdout + done.stderr
    assert _open_journal(pg_database, workspace) == []
    plan = _run(root, "plan", "--detailed-exitcode", *state)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert _trainings(root) == 1  # one training, whether or not the killed create had landed


@pytest.fixture
def own_server(postgres) -> postgres_server.Server:
    if postgres_server.find_bin() is None:
        pytest.skip("needs the PostgreSQL binaries to start a server of its own")
    server = postgres_server.start()
    yield server
    postgres_server.remove(server)


def test_a_server_restarted_mid_apply_stops_it_clearly_and_the_next_run_loses_nothing(
    tmp_path: Path, own_server: postgres_server.Server
) -> None:
    root = _quickstart(tmp_path)
    url = own_server.url()
    state = ["--state", url, "--workspace", "team/restart"]
    env = _env(time_scale="3000", PGPASSFILE=str(own_server.pgpass))
    proc = subprocess.Popen(
        _cli(root, "apply", "--auto-approve", *state),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def training() -> bool:  # the job was created and recorded: the apply now waits for it
            with psycopg.connect(url, autocommit=True, password=own_server.password) as conn:
                try:
                    return conn.execute(
                        "SELECT EXISTS (SELECT 1 FROM reconciler.journal WHERE workspace = "
                        "'team/restart' AND address = 'FineTune/money-rain' AND status = 'done')"
                    ).fetchone()[0]
                except psycopg.errors.UndefinedTable:  # the first apply has not created the schema yet
                    return False

        _wait_for(training, what="the training to be recorded")
        own_server.restart()
        out, err = proc.communicate(timeout=170)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, out + err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(
        f"Error: lost the connection to the state database {url}"
    ), err
    assert "run the command again" in errors[0]
    assert "Traceback" not in err and own_server.password not in out + err

    done = _run(root, "apply", "--auto-approve", *state, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    plan = _run(root, "plan", "--detailed-exitcode", *state, env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert _trainings(root) == 1
