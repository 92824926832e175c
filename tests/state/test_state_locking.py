"""What only the SQLite store's lock file does: holder info in the file, detaching a lock held from
another host, the in-memory lock. The lock's behaviour both stores share is in
test_state_conformance_locks.py."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from state_backends import Holder, SqliteBackend

from reconciler.clock import FakeClock
from reconciler.models.state import LockInfo
from reconciler.state.interface import LockedError, StateError
from reconciler.state.sqlite import SqliteStateStore


@pytest.fixture
def holder(store: SqliteStateStore, state_path: Path) -> Iterator[Holder]:
    started = Holder(SqliteBackend(state_path), "apply")
    yield started
    started.cleanup()


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
