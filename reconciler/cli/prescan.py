"""The dataset stat pass on the second core: a child process stats while the parent starts up.

Why: a no-change plan stats every dataset file (25 per chain) so that every edit is seen, and
that is one core's work while the other is idle (threads would share the GIL). Before anything
heavy is imported and before any thread exists, `start` forks a child that lists the folders the
content cache named last time (`content_cache.known_folders`), stats them (`scan_folder_keys`)
and sends back through a pipe, as `marshal`, what the parent's scan would compute: names, packed
StatKeys, newest file time. The parent meanwhile imports, parses and validates; the dataset checks
then `claim` the results (`scanning.claim_prescan`) and use them only where they vouch for a
clean cached folder. They are as fresh as the parent's own scan would be: taken during this run,
after the command started, and compared with the same cache entries under the same racy rule;
anything else is scanned again by the parent.

What it must not do: write anything (no bytecode, no file, no output: its standard streams are
/dev/null and it ends with `os._exit`), hang the parent (a bounded wait, then SIGKILL), or leave
a zombie (every path reaps it, an exit handler included). Where fork is unavailable or unsafe —
not Linux, a thread already running — or the cache is small (forking costs more than the scan
saves), nothing is forked and the parent scans serially, as before.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler import forked

CACHE_FILE = "datasets.cache"  # content_cache.CACHE_FILE (a test checks): that module is not needed yet
# Below this size of the content cache file (~3.4 KB a dataset of 25 files: about 300 datasets) the
# fork, the child's start and the copy-on-write faults cost what the scan would: measured no-change
# `plan --refresh=false` wall, forked vs serial, 2 cores: 100 chains +10-20 ms, 300 chains -10 ms,
# 1,000 chains -50 ms, 5,000 chains -0.3 s.
MIN_CACHE_BYTES = 1_000_000
WAIT_S = 5.0  # how long the parent waits for the child's answer before scanning itself

_child: Any = None  # the one running child (tests look at it)


def cache_file_for(paths: tuple[str, ...], state_path: str | None) -> Path | None:
    """Where `Workspace` will look for the content cache, for the common cases; None otherwise.

    A wrong guess only wastes the child's work: the parent claims scans by its own cache path.
    """
    if state_path is not None:
        if "://" in state_path:  # a PostgreSQL state: the caches beside the manifests
            state_path = None
        else:
            return Path(state_path).parent / CACHE_FILE
    if not paths:
        return None  # the project file decides (not read here)
    first = Path(paths[0])
    root = first if first.is_dir() else first.parent
    return root / ".reconciler" / CACHE_FILE


def start(
    paths: tuple[str, ...],
    state_path: str | None,
    *,
    work: Callable[[Path], bytes] | None = None,
    min_bytes: int | None = None,
) -> bool:
    """Fork the stat child when it pays and is safe; True when one runs. Never raises."""
    try:
        cache_file = cache_file_for(paths, state_path)
        if cache_file is None or not _fork_is_safe():
            return False
        try:
            size = os.stat(cache_file).st_size
        except OSError:
            return False
        if size < (MIN_CACHE_BYTES if min_bytes is None else min_bytes):
            return False
        _Child(cache_file, work or _scan_known_folders)
        return True
    except Exception:  # noqa: BLE001 - the serial path is always there
        return False


def _fork_is_safe() -> bool:
    return forked.fork_is_safe() and _child is None  # and one stat child per process


def _scan_known_folders(cache_file: Path) -> bytes:
    """The child's work: scan the folders the cache names, as marshal bytes."""
    import marshal

    from reconciler.datasets.content_cache import known_folders
    from reconciler.datasets.scanning import prescan_folders

    return marshal.dumps(prescan_folders(known_folders(cache_file)))


class _Child:
    def __init__(self, cache_file: Path, work: Callable[[Path], bytes]) -> None:
        global _child
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _run_child(read_end, write_end, cache_file, work)
        os.close(write_end)
        self.pid: int | None = pid
        self.fd = read_end
        _child = self
        atexit.register(self.stop)
        from reconciler.datasets.scanning import offer_prescan

        offer_prescan(str(cache_file), self.collect)

    def collect(self) -> dict[str, Any]:
        """The child's scans, or {} (it failed, was slow or sent something odd); the child is reaped."""
        import marshal
        import select

        chunks: list[bytes] = []
        deadline = time.monotonic() + WAIT_S
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    return {}  # slow: the parent scans itself
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            status = self._reap(deadline)
            if status != 0:
                return {}
            result = marshal.loads(b"".join(chunks))
            return result if isinstance(result, dict) else {}
        except Exception:  # noqa: BLE001 - a truncated or odd answer: scan serially
            return {}
        finally:
            self.stop()

    def _reap(self, deadline: float) -> int | None:
        """The child's exit code once it has ended (it does so right after its last write)."""
        while self.pid is not None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = None
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.0005)
        return None

    def stop(self) -> None:
        """Kill the child if it still runs and reap it; close the pipe. Idempotent."""
        global _child
        if _child is self:
            _child = None
        if self.pid is not None:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except OSError:  # already reaped
                pass
            self.pid = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _run_child(read_end: int, write_end: int, cache_file: Path, work: Callable[[Path], bytes]) -> None:
    code = 1
    try:
        os.close(read_end)
        sys.dont_write_bytecode = True  # it may import the scanner: never a .pyc from here
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # nothing to say, and no pipe of the parent's caller held open
            os.dup2(null, fd)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - whatever they were (a capture)
        data = memoryview(work(cache_file))
        while data:
            data = data[os.write(write_end, data) :]
        code = 0
    except BaseException:  # noqa: BLE001, S110 - the parent sees a failed child and scans itself
        pass
    finally:
        os._exit(code)  # no exit handlers, no flushing of the parent's buffers
