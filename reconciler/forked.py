"""Work handed to a forked child so the command does not wait for it: the second core's share.

Why its own module: the dataset stat pass (`cli/prescan.py`) and the load memo's writer
(`loading/load_memo.py`) both fork, from different layers, and must agree on when that is safe.

When it is safe: Linux only (macOS's system libraries are not fork-safe), and only while this
process has one thread (a fork copies only the caller: another thread's locks would stay held in
the child). Anywhere else the caller does the work itself, as it would without this module.

What a detached child must not do: keep anything of the parent's open — its first act is to
close every inherited descriptor, so an `flock` on the state's lock file (shared by every copy of
its descriptor) or a database connection is never held past the parent; write to the terminal
(its standard streams are /dev/null); write bytecode; or outlive a parent that waits for it at
exit (`WAIT_AT_EXIT_S`; after that it is left to finish alone, its writes being atomic).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable

WAIT_AT_EXIT_S = 10.0

_children: list[int] = []
_reaper_registered = False
_database_opened = False


def note_database_opened() -> None:
    """Called as this package opens a database connection (SQLite or PostgreSQL): from then on a
    child that opens a database itself is not forked. SQLite's rule is no connection across a fork:
    a child opening the same file again would find the parent's per-file lock bookkeeping, not its
    own; libpq's is the same for its sockets."""
    global _database_opened
    _database_opened = True


def database_opened() -> bool:
    """Has this process opened a database connection of ours (`note_database_opened`)?"""
    return _database_opened


def fork_is_safe() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


def run_detached(work: Callable[[], object]) -> bool:
    """Run `work` in a forked child; True when one was forked (False: the caller should do it)."""
    global _reaper_registered
    if not fork_is_safe():
        return False
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:  # the child: never returns
        _run_child(work)
    _children.append(pid)
    if not _reaper_registered:
        atexit.register(wait_for_children)
        _reaper_registered = True
    return True


def _run_child(work: Callable[[], object]) -> None:
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, fd_limit())  # `null` too: the standard streams are enough
        sys.dont_write_bytecode = True
        work()
        code = 0
    except BaseException:  # noqa: BLE001 - nothing to report to: the work simply did not happen
        code = 1
    finally:
        os._exit(code)


def fd_limit() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):  # pragma: no cover - every Linux has it
        return 4096


def wait_for_children(timeout: float = WAIT_AT_EXIT_S) -> None:
    """Reap the detached children (tests call it to see their work); those still running after
    `timeout` are left to finish on their own."""
    deadline = time.monotonic() + timeout
    while _children:
        pid = _children[0]
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _children.pop(0)
            continue
        if time.monotonic() >= deadline:
            return
        time.sleep(0.005)
