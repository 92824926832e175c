"""The apply lock, for both stores: refuses a second process naming the holder, dies with its holder,
waits with a timeout, excludes a second store in the same process, and is never needed to be
forced for a dead holder. What only the SQLite lock file does is in test_state_locking.py.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from state_backends import Backend, Holder

from reconciler.clock import SYSTEM_CLOCK, FakeClock
from reconciler.state.interface import LockedError, StateError, StateStore


@pytest.fixture
def holder(any_store: StateStore, backend: Backend) -> Iterator[Holder]:
    started = Holder(backend, "apply")
    yield started
    started.cleanup()


def test_a_second_process_is_refused_and_told_who_holds_the_lock(
    any_store: StateStore, holder: Holder
) -> None:
    with pytest.raises(LockedError) as refused, any_store.lock("destroy"):
        pass
    info = refused.value.info
    assert info == holder.info
    assert (info.pid, info.host, info.operation) == (holder.process.pid, socket.gethostname(), "apply")
    assert str(refused.value).startswith(
        f"state is locked by {info.owner} (pid {info.pid} on {info.host}), running 'apply' since "
        f"{info.started_at}; lock id {info.lock_id}. Wait"
    )
    assert "--lock-timeout" in str(refused.value)
    assert any_store.lock_info() == holder.info
    holder.release()
    assert any_store.lock_info() is None
    with any_store.lock("destroy") as mine:
        assert mine.pid == os.getpid() and mine.operation == "destroy"
        assert any_store.lock_info() == mine


def test_the_refusal_says_what_to_do(any_store: StateStore, backend: Backend, holder: Holder) -> None:
    with pytest.raises(LockedError) as refused, any_store.lock("apply"):
        pass
    if backend.name == "sqlite":  # a file lock's info can outlive a holder on a shared filesystem
        assert str(refused.value).endswith(
            f"Wait, retry with --lock-timeout, or run 'reconciler force-unlock "
            f"{holder.info.lock_id}' if that process is gone."
        )
    else:  # a session lock cannot outlive its session
        assert str(refused.value).endswith(
            "the lock is released the moment that process exits or its database "
            "connection drops (force-unlock is never needed for a dead holder)."
        )


def test_the_lock_dies_with_a_killed_holder_at_once(backend: Backend, holder: Holder) -> None:
    holder.kill()
    with backend.open(clock=SYSTEM_CLOCK) as store:
        started = time.monotonic()
        with store.lock("apply", timeout=5) as info:  # waits only if the server has not noticed yet
            waited = time.monotonic() - started
            assert info.pid == os.getpid() and store.lock_info() == info
        assert waited < 1.0, f"the dead holder's lock lingered for {waited:.2f}s"
        assert store.lock_info() is None


def test_a_dead_holders_info_is_ignored_and_force_unlock_clears_it(
    any_store: StateStore, holder: Holder
) -> None:
    holder.kill()
    deadline = time.monotonic() + 5
    while any_store.lock_info() is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert any_store.lock_info() is None  # what the dead holder left behind names nobody
    with pytest.raises(StateError, match="lock id nope does not match the current lock"):
        any_store.force_unlock("nope")
    assert any_store.force_unlock(holder.info.lock_id) == holder.info
    assert any_store.force_unlock() is None  # nothing left


def test_force_unlock_refuses_to_break_a_live_holder(any_store: StateStore, holder: Holder) -> None:
    with pytest.raises(
        StateError,
        match=f"held by a (running process|live session): .*pid {holder.process.pid}.*[Ss]top that process",
    ):
        any_store.force_unlock(holder.info.lock_id)
    assert any_store.lock_info() == holder.info


def test_lock_timeout_waits_on_the_clock_then_refuses(backend: Backend, holder: Holder) -> None:
    clock = FakeClock()
    start = clock.monotonic()
    with (
        backend.open(clock=clock) as store,
        pytest.raises(LockedError) as refused,
        store.lock("apply", timeout=30),
    ):
        pass
    assert refused.value.info == holder.info
    assert clock.monotonic() - start == pytest.approx(30)  # waited exactly the timeout, in fake time


def test_lock_timeout_acquires_when_the_holder_finishes(backend: Backend, holder: Holder) -> None:
    with backend.open(clock=SYSTEM_CLOCK) as real_time_store:
        timer = threading.Timer(0.3, holder.release)
        timer.start()
        started = time.monotonic()
        try:
            with real_time_store.lock("apply", timeout=20) as info:
                assert info.pid == os.getpid()
        finally:
            timer.join()
        assert time.monotonic() - started < 10


def test_two_stores_in_one_process_exclude_each_other(backend: Backend) -> None:
    with backend.open() as first, backend.open() as second:
        with first.lock("apply") as held:
            with pytest.raises(LockedError) as refused, second.lock("refresh"):
                pass
            assert refused.value.info == held
            with pytest.raises(LockedError), first.lock("again"):  # not re-entrant either
                pass
            with pytest.raises(StateError, match="this process holds the lock"):
                first.force_unlock()
            assert second.lock_info() == held
        with second.lock("refresh"):
            pass


def test_another_state_has_its_own_lock(backend: Backend) -> None:
    with backend.open() as first, backend.other().open() as other, first.lock("apply"), other.lock("apply"):
        assert first.lock_info() != other.lock_info()


def test_closing_a_store_releases_its_lock(backend: Backend) -> None:
    first = backend.open()
    first.lock("apply").__enter__()
    first.close()
    with backend.open() as second, second.lock("apply"):
        pass


def test_a_lock_held_elsewhere_is_reported_by_a_read_only_store(backend: Backend) -> None:
    with backend.open() as writer, writer.lock("apply") as info:
        before = backend.persisted()
        with backend.open(readonly=True) as reader:
            assert reader.lock_info() == info
        assert backend.persisted() == before
