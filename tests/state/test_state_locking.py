"""The apply lock: refuses a second process naming the holder, dies with its holder, waits with a timeout."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.clock import SYSTEM_CLOCK, FakeClock
from reconciler.models.state import LockInfo
from reconciler.state.interface import LockedError, StateError
from reconciler.state.sqlite import SqliteStateStore

HOLDER = Path(__file__).with_name("hold_lock.py")


class Holder:
    """Another process holding the apply lock until told to stop (or killed)."""

    def __init__(self, state: Path, operation: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HOLDER), str(state), operation],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the holder process failed to take the lock"
        self.info = LockInfo.from_dict(json.loads(line))

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=10) == 0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


@pytest.fixture
def holder(store: SqliteStateStore, state_path: Path) -> Iterator[Holder]:
    started = Holder(state_path, "apply")
    yield started
    started.cleanup()


def test_a_second_process_is_refused_and_told_who_holds_the_lock(
    store: SqliteStateStore, holder: Holder
) -> None:
    with pytest.raises(LockedError) as refused, store.lock("destroy"):
        pass
    info = refused.value.info
    assert info == holder.info
    assert (info.pid, info.host, info.operation) == (holder.process.pid, socket.gethostname(), "apply")
    assert str(refused.value) == (
        f"state is locked by {info.owner} (pid {info.pid} on {info.host}), running 'apply' since "
        f"{info.started_at}; lock id {info.lock_id}. Wait, retry with --lock-timeout, or run "
        f"'reconciler force-unlock {info.lock_id}' if that process is gone."
    )
    assert store.lock_info() == holder.info
    holder.release()
    assert store.lock_info() is None
    with store.lock("destroy") as mine:
        assert mine.pid == os.getpid() and mine.operation == "destroy"


def test_the_lock_dies_with_a_killed_holder(
    store: SqliteStateStore, holder: Holder, state_path: Path
) -> None:
    holder.kill()
    lock_file = Path(f"{state_path}.lock")
    assert json.loads(lock_file.read_text())["pid"] == holder.process.pid  # its info is left behind…
    assert store.lock_info() is None  # …but nobody holds the lock
    with store.lock("apply") as info:
        assert info.pid == os.getpid()
        assert json.loads(lock_file.read_text())["lock_id"] == info.lock_id
    assert lock_file.read_text() == ""  # released: the info is cleared, the file kept


def test_force_unlock_clears_the_info_a_dead_holder_left(store: SqliteStateStore, holder: Holder) -> None:
    holder.kill()
    with pytest.raises(StateError, match="lock id nope does not match the current lock"):
        store.force_unlock("nope")
    assert store.force_unlock(holder.info.lock_id) == holder.info
    assert store.force_unlock() is None  # nothing left


def test_force_unlock_refuses_to_break_a_live_local_holder(store: SqliteStateStore, holder: Holder) -> None:
    with pytest.raises(
        StateError, match=f"held by a running process: .*pid {holder.process.pid}.*Stop that process"
    ):
        store.force_unlock(holder.info.lock_id)
    assert store.lock_info() == holder.info


def test_force_unlock_detaches_a_lock_held_from_another_host(
    store: SqliteStateStore, state_path: Path
) -> None:
    """A holder on another machine (shared filesystem) cannot be checked or killed from here: detach its file."""
    lock_file = Path(f"{state_path}.lock")
    remote = LockInfo("ana", 4242, "ci-runner-7", "apply", "2026-01-01T00:00:00.000Z", "remote-lock")
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, json.dumps(remote.to_dict()).encode())
        with (
            pytest.raises(LockedError, match="locked by ana \\(pid 4242 on ci-runner-7\\)"),
            store.lock("apply"),
        ):
            pass
        assert store.force_unlock("remote-lock") == remote
        assert not lock_file.exists()
        with store.lock("apply") as info:
            assert store.lock_info() == info
    finally:
        os.close(fd)


def test_lock_timeout_waits_on_the_clock_then_refuses(state_path: Path, holder: Holder) -> None:
    clock = FakeClock()
    start = clock.monotonic()
    store = SqliteStateStore.open(state_path, clock=clock)
    with pytest.raises(LockedError) as refused, store.lock("apply", timeout=30):
        pass
    store.close()
    assert refused.value.info == holder.info
    assert clock.monotonic() - start == pytest.approx(30)  # waited exactly the timeout, in fake time


def test_lock_timeout_acquires_when_the_holder_finishes(store: SqliteStateStore, holder: Holder) -> None:
    assert store._clock is not SYSTEM_CLOCK  # the store fixture uses a FakeClock; this test needs real time
    with SqliteStateStore.open(store.path or "", clock=SYSTEM_CLOCK) as real_time_store:
        timer = threading.Timer(0.3, holder.release)
        timer.start()
        started = time.monotonic()
        try:
            with real_time_store.lock("apply", timeout=20) as info:
                assert info.pid == os.getpid()
        finally:
            timer.join()
        assert time.monotonic() - started < 10


def test_two_stores_in_one_process_exclude_each_other(state_path: Path) -> None:
    with SqliteStateStore.open(state_path) as first, SqliteStateStore.open(state_path) as second:
        with first.lock("apply") as held:
            with pytest.raises(LockedError) as refused, second.lock("refresh"):
                pass
            assert refused.value.info == held
            with pytest.raises(LockedError), first.lock("again"):  # not re-entrant either
                pass
            with pytest.raises(StateError, match="this process holds the lock"):
                first.force_unlock()
        with second.lock("refresh"):
            pass


def test_closing_a_store_releases_its_lock(state_path: Path) -> None:
    first = SqliteStateStore.open(state_path)
    first.lock("apply").__enter__()
    first.close()
    with SqliteStateStore.open(state_path) as second, second.lock("apply"):
        pass


def test_in_memory_lock_times_out_on_the_clock(clock: FakeClock) -> None:
    store = SqliteStateStore.in_memory(clock=clock)
    with store.lock("apply") as held:
        result: list[BaseException] = []

        def contend() -> None:
            try:
                with store.lock("refresh", timeout=5):
                    pass
            except LockedError as error:
                result.append(error)

        worker = threading.Thread(target=contend)
        worker.start()
        worker.join(timeout=10)
        assert isinstance(result[0], LockedError) and result[0].info == held  # type: ignore[attr-defined]
        with pytest.raises(StateError, match="cannot be forced"):
            store.force_unlock()
    store.close()
