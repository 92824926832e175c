"""The apply lock: one writer of provider state at a time, released by the kernel when its holder dies.

The lock is `fcntl.flock(LOCK_EX | LOCK_NB)` on `<state>.lock`, beside the state file. flock
belongs to the open file description, so a holder that exits, crashes or is `kill -9`ed releases
it with no cleanup — there is no stale-lock problem to time out. While holding it, the holder
writes its `LockInfo` (JSON: user, pid, host, operation, start time, lock id) into the same file,
so whoever is refused can say who to ask or which process to look at; it truncates the file
before unlocking.

The lock file is never deleted on release: unlinking a flock'ed path lets a waiter lock the
old inode while a newcomer locks a new one, and both would "hold" the lock.

`force_unlock` cannot take a lock from a live process (nothing can, with flock; stop the process
instead). What it does:
- the lock is free but the file still names a holder (info left by a dead holder, or a holder
  whose release was cut short): clears the info;
- the lock is held, but not by a live process on this host — a holder on another machine
  sharing the directory over NFS (where flock may be emulated or not released), or a descriptor
  leaked into a forked child: unlinks the lock file, so the next locker starts on a fresh one;
- the lock is held by a live process on this host: refuses, naming it.

Nothing here touches the state database; a read-only store may call `holder()` (it opens the
lock file read-only and never creates it).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
import time
import uuid
from pathlib import Path

from reconciler.clock import Clock
from reconciler.models.state import LockInfo, iso_utc
from reconciler.state.interface import LockedError, StateError

POLL_INTERVAL = 0.1  # seconds between attempts while waiting for --lock-timeout
_INFO_READ_ATTEMPTS = 20  # a holder writes its info right after locking; wait this many times…
_INFO_READ_PAUSE = 0.005  # …this long (real time: it is another process) for it to appear

UNKNOWN_HOLDER = LockInfo(
    owner="unknown", pid=0, host="unknown", operation="unknown", started_at="unknown", lock_id="unknown"
)


def current_user() -> str:
    import getpass  # here, like socket below: a plan that takes no lock needs neither module

    try:
        return getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (some containers)
        return str(os.getuid())


def _hostname() -> str:
    import socket

    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _parse_info(raw: bytes) -> LockInfo | None:
    if not raw.strip():
        return None
    try:
        return LockInfo.from_dict(json.loads(raw))
    except (ValueError, TypeError):
        return None


def _is_would_block(error: OSError) -> bool:
    return error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


class FileApplyLock:
    """The apply lock of one state file. One instance may hold the lock at most once at a time."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._fd: int | None = None
        self._info: LockInfo | None = None
        self._guard = threading.Lock()

    # -- holding -------------------------------------------------------------------------------

    def acquire(self, operation: str, timeout: float = 0.0) -> LockInfo:
        with self._guard:
            if self._fd is not None:
                assert self._info is not None
                raise LockedError(self._info, str(self.path))
            deadline = self._clock.monotonic() + max(timeout, 0.0)
            while True:
                fd = self._try_lock()
                if fd is not None:
                    break
                remaining = deadline - self._clock.monotonic()
                if remaining <= 0:
                    raise LockedError(self._read_holder_info(), str(self.path))
                self._clock.sleep(min(POLL_INTERVAL, remaining))
            info = LockInfo(
                owner=current_user(),
                pid=os.getpid(),
                host=_hostname(),
                operation=operation,
                started_at=iso_utc(self._clock.now()),
                lock_id=str(uuid.uuid4()),
            )
            payload = json.dumps(info.to_dict(), separators=(",", ":")).encode()
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, payload, 0)
            except OSError as error:
                self._unlock(fd)
                raise StateError(f"cannot write the lock file {self.path}: {error.strerror}") from error
            self._fd, self._info = fd, info
            return info

    def release(self) -> None:
        with self._guard:
            fd, self._fd, self._info = self._fd, None, None
            if fd is not None:
                self._unlock(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _try_lock(self) -> int | None:
        """Lock the current lock file, or None when someone else holds it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise StateError(
                f"cannot open the lock file {self.path}: {error.strerror}; "
                f"make {self.path.parent} writable (chmod u+w {self.path.parent})"
            ) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if _is_would_block(error):
                return None
            raise StateError(f"cannot lock {self.path}: {error.strerror}") from error
        # force-unlock may have unlinked the file between our open and our flock: then we locked
        # an orphan inode nobody else will ever see. Start again on the file that is there now.
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            self._unlock(fd)
            return self._try_lock()
        return fd

    @staticmethod
    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    # -- looking -------------------------------------------------------------------------------

    def _read_raw(self) -> bytes:
        try:
            with open(self.path, "rb") as handle:
                return handle.read(64 * 1024)
        except FileNotFoundError:
            return b""
        except OSError as error:
            raise StateError(f"cannot read the lock file {self.path}: {error.strerror}") from error

    def _read_holder_info(self) -> LockInfo:
        for _ in range(_INFO_READ_ATTEMPTS):
            info = _parse_info(self._read_raw())
            if info is not None:
                return info
            time.sleep(_INFO_READ_PAUSE)
        return UNKNOWN_HOLDER

    def _is_held(self) -> bool:
        """Whether any open file description (ours included) holds the lock. Opens read-only."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise StateError(
                f"cannot open the lock file {self.path}: {error.strerror}; "
                f"make {self.path.parent} writable (chmod u+w {self.path.parent})"
            ) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as error:
            if _is_would_block(error):
                return True
            raise StateError(f"cannot check the lock {self.path}: {error.strerror}") from error
        finally:
            os.close(fd)  # closing drops the shared lock we may have taken
        return False

    def holder(self) -> LockInfo | None:
        if self._info is not None:
            return self._info
        if not self._is_held():
            return None
        return self._read_holder_info()

    # -- breaking ------------------------------------------------------------------------------

    def force_unlock(self, lock_id: str | None = None) -> LockInfo | None:
        with self._guard:
            if self._fd is not None:
                assert self._info is not None
                raise StateError(
                    f"this process holds the lock (lock id {self._info.lock_id}); release it instead of forcing"
                )
            if not self.path.exists():
                return None
            recorded = _parse_info(self._read_raw())
            if lock_id is not None and (recorded is None or recorded.lock_id != lock_id):
                current = recorded.lock_id if recorded else "none"
                raise StateError(
                    f"lock id {lock_id} does not match the current lock (lock id {current}); "
                    "run 'reconciler force-unlock' with the id the refused command printed"
                )
            fd = self._try_lock()
            if fd is not None:  # free: at most stale info is left behind
                self._unlock(fd)  # truncates the info while we hold it
                return recorded
            info = recorded or UNKNOWN_HOLDER
            if info.host == _hostname() and pid_alive(info.pid):
                raise StateError(
                    f"the lock is held by a running process: {info.owner} (pid {info.pid} on {info.host}), "
                    f"'{info.operation}' since {info.started_at}. Stop that process first; a lock held by a "
                    "live process cannot be taken from it"
                )
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as error:
                raise StateError(f"cannot remove the lock file {self.path}: {error.strerror}") from error
            return info


class InProcessApplyLock:
    """The apply lock of an in-memory state: only this process can see the state, so a mutex will do."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._mutex = threading.Lock()
        self._info: LockInfo | None = None

    def acquire(self, operation: str, timeout: float = 0.0) -> LockInfo:
        deadline = self._clock.monotonic() + max(timeout, 0.0)
        while not self._mutex.acquire(blocking=False):
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise LockedError(self._info or UNKNOWN_HOLDER)
            self._clock.sleep(min(POLL_INTERVAL, remaining))
        self._info = LockInfo(
            owner=current_user(),
            pid=os.getpid(),
            host=_hostname(),
            operation=operation,
            started_at=iso_utc(self._clock.now()),
            lock_id=str(uuid.uuid4()),
        )
        return self._info

    def release(self) -> None:
        if self._info is not None:
            self._info = None
            self._mutex.release()

    def holder(self) -> LockInfo | None:
        return self._info

    def force_unlock(self, lock_id: str | None = None) -> LockInfo | None:
        info = self._info
        if info is None:
            return None
        if lock_id is not None and lock_id != info.lock_id:
            raise StateError(f"lock id {lock_id} does not match the current lock (lock id {info.lock_id})")
        raise StateError(
            f"the lock is held by this process ('{info.operation}' since {info.started_at}); "
            "an in-memory state's lock cannot be forced"
        )
