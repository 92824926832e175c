"""A `plan`'s refresh on the second core: a forked child reads the providers while the parent loads.

Why: a no-change plan is load → state rows → refresh → planning, one after another on one core,
while the other core idles. The refresh needs only the state and the Provider manifests, and the
Provider manifests rarely change; so, before anything heavy is imported and before any thread
exists, `start` forks a child that takes the providers from the *hint* the last refreshing
command left (`refresh.hint` beside the state: the Provider configurations, nothing secret —
credentials are named by environment variable and read from this process's environment), reads
the state read-only and asks the providers exactly what the parent's refresh would
(`engine.refreshing.refresh`, no discovery). It sends back the observations through a pipe.

What the parent trusts (`Workspace`, before planning): nothing it has not checked. It uses the
child's observations only when the child's Provider configurations equal the ones it loaded, the
child saw the state it sees (same location, lineage and serial, read before and after the child's
read of the rows, and before and after the parent's), and neither saw an open journal row.
Otherwise it refreshes itself, as it always did; so a wrong hint costs the child's requests, never
a wrong plan. The observations are as fresh as the parent's would be: taken during this command.

What it must not do: write the state (the child opens it read-only), lose what the refresh would
have logged (its warnings are sent back and logged by the parent; a command asked to log more
than warnings does not use it), hang the parent (the child dies with it, `PR_SET_PDEATHSIG`, and
a Ctrl-C in the parent kills it), or leave a zombie (every path reaps it). Where fork is not safe
(not Linux, a thread already running, a database of ours possibly open) nothing is forked. `RECONCILER_REFRESH_AHEAD=0` turns it off.
"""

from __future__ import annotations

import atexit
import marshal
import os
import pickle
import select
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from reconciler import forked

OFF_ENV = "RECONCILER_REFRESH_AHEAD"
HINT_FILE = "refresh.hint"
_MAGIC = b"reconciler refresh hint 1\n"
_PR_SET_PDEATHSIG = 1

_child: _Child | None = None  # the one running child (tests look at it)


def enabled(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return env.get(OFF_ENV, "") != "0"


def start(work: Callable[[], Any]) -> bool:
    """Fork the child when it is safe; True when one runs. `work` runs in the child and returns the
    answer (anything picklable; None: nothing to offer). Never raises."""
    global _child
    try:
        if _child is not None or not enabled() or not forked.fork_is_safe() or _sqlite_in_use():
            return False
        _child = _Child(work)
        return True
    except Exception:  # noqa: BLE001 - the parent refreshes itself
        return False


def _sqlite_in_use() -> bool:
    """A state or sandbox database may be open: a child that opens the same file again would find the
    parent's lock bookkeeping, not its own (SQLite's own rule: no connection across a fork). The CLI
    forks before it opens any; a program that ran other commands in-process first does not fork."""
    return forked.database_opened()


def import_shared() -> None:
    """Import, before the fork, what both the child's refresh and the parent's plan import (the
    models, the refresh, the wiring, the load memo), so that only one process pays for it; not
    the HTTP clients, providers and sandbox, which only the child needs. Never raises."""
    try:
        import reconciler.engine.refreshing  # noqa: F401
        import reconciler.loading.load_memo  # noqa: F401
        import reconciler.wiring  # noqa: F401
    except Exception:  # noqa: BLE001, S110 - the child imports them itself
        pass


def claim() -> Any:
    """The child's answer (None when there is none, it failed or sent something odd); reaped.
    Waits for the child: it is doing the refresh the caller would otherwise do itself."""
    global _child
    child, _child = _child, None
    if child is None:
        return None
    return child.collect()


def meanwhile(steps: Iterator[object]) -> None:
    """Take `steps` (the caller's work that does not need the answer) while the child is still at
    it, and stop at the first byte of its answer (or its end): the parent would otherwise only
    wait, and what it leaves undone here it does later, as it would have without this. Nothing
    runs without a child. Why stop there: the answer is unpickled as it arrives, beside the
    child's pickling; a parent busy elsewhere would leave the child blocked on a full pipe."""
    child = _child
    if child is None:
        return
    for _ in steps:
        if child.answer_begun():
            return


def discard() -> None:
    """Stop the child, if one runs: its answer will not be asked for."""
    global _child
    child, _child = _child, None
    if child is not None:
        child.stop()


# ---------------------------------------------------------------------- the child's work


def observe(location: Any, shown: str, wiring: Any, clock: Any) -> tuple[Any, ...] | None:
    """The refresh a plan on this state would do, with the providers of the hint instead of the
    manifests (the parent checks that they are the same): (state shown, (lineage, serial),
    providers, observations, diagnostics, warnings). None when there is nothing to do ahead: no
    hint, faults to act out, an open journal row (its recovery comes first), a state that moved
    while it was read, or no records. Imports only what a refresh needs (not the loader, the
    planner or the workspace): the child is on the clock."""
    from reconciler.engine.refreshing import refresh
    from reconciler.models.resources import ManifestSet
    from reconciler.wiring import build_adapters, open_store

    if location.path is None:  # a PostgreSQL state: its caches are not beside it
        return None
    directory = Path(location.path).parent
    providers = read_hint(directory)
    if not isinstance(providers, dict) or not providers or not _quiet(providers.values()):
        return None
    kept = WarningsKept()
    store = open_store(location, readonly=True, clock=clock)
    try:
        before = store.meta()
        if store.open_journal():
            return None
        records = store.all()
        seen = (before.lineage, before.serial)
        after = store.meta()
        if not records or seen != (after.lineage, after.serial):
            return None
        result = refresh(
            ManifestSet(root=""),  # read only for discovery, which a plan does not do
            records,
            build_adapters(providers, wiring),
            dict,
            now=clock.now(),
            discover=False,
            parallelism=wiring.parallelism,
            take_records=True,
            fold=False,  # the parent folds the observations into its own records
        )
        packed = pack_observations(result.observations)
        return (shown, seen, providers, packed, result.diagnostics, kept.records)
    finally:
        store.close()


def pack_observations(observations: Mapping[str, Any]) -> bytes | Mapping[str, Any]:
    """The observations as `marshal` data, a row of fields each; as they are (pickled with the
    answer) when a value is not one marshal keeps exactly (an `Observation` whose phase is no
    `Phase`, a str or dict subclass: marshal refuses those). Why: at 1,000 chains pickling the
    objects took 23 ms in the child and unpickling them 36 ms in the parent, both on the plan's
    critical path; the rows take 9 ms each way, rebuilding the objects included."""
    try:
        return marshal.dumps(
            {
                address: (
                    o.remote_id,
                    o.phase._value_,
                    o.status,
                    o.object,
                    o.outputs,
                    o.message,
                    o.created_at,
                    o.progress,
                    o.live_fields,
                    o.facts,
                )
                for address, o in observations.items()
            }
        )
    except (AttributeError, ValueError):
        return observations


def unpack_observations(packed: bytes | Mapping[str, Any]) -> dict[str, Any]:
    """`pack_observations` undone: equal `Observation`s (their fields in declaration order)."""
    if not isinstance(packed, bytes):
        return dict(packed)
    from reconciler.providers.interface import Observation, Phase

    phases = {phase._value_: phase for phase in Phase}
    return {
        address: Observation(rid, phases[phase], *rest)
        for address, (rid, phase, *rest) in marshal.loads(packed).items()
    }


def _quiet(providers: Any) -> bool:
    """No sandbox faults to act out: they count requests, so a child's requests would move them."""
    from reconciler.wiring import FAULTS_ENV

    if os.environ.get(FAULTS_ENV):
        return False
    for config in providers:
        options = getattr(config.spec, "sandbox", None)
        if options is not None and (options.faults.rules or options.faults.fail_jobs):
            return False
    return True


# ---------------------------------------------------------------------- the hint


def read_hint(directory: Path) -> Any:
    """The Provider configurations the last refreshing command used here, or None."""
    from reconciler.datasets.cache_files import read_sealed
    from reconciler.loading.load_memo import code_fingerprint, models_only_loads

    content, _problem = read_sealed(directory / HINT_FILE, _MAGIC, code_fingerprint())
    if not isinstance(content, bytes):
        return None
    try:
        return models_only_loads(content)
    except Exception:  # noqa: BLE001 - a damaged or planted hint is no hint
        return None


def write_hint(directory: Path, providers: Any) -> bool:
    """Keep `providers` for the next command's child; False when it cannot be written (never raises)."""
    from reconciler.datasets.cache_files import write_sealed
    from reconciler.loading.load_memo import code_fingerprint

    try:
        payload = pickle.dumps(providers, protocol=5)
    except Exception:  # noqa: BLE001 - nothing to keep
        return False
    return write_sealed(directory / HINT_FILE, _MAGIC, code_fingerprint(), payload)


# ---------------------------------------------------------------------- the child


class _Child:
    def __init__(self, work: Callable[[], Any]) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _run_child(read_end, write_end, work)
        os.close(write_end)
        self.pid: int | None = pid
        self.fd = read_end
        atexit.register(self.stop)

    def answer_begun(self) -> bool:
        """Something to read (the answer's first bytes, or the end of the pipe): not a wait."""
        try:
            return bool(select.select([self.fd], [], [], 0)[0])
        except (OSError, ValueError):  # a closed pipe: nothing more will come
            return True

    def collect(self) -> Any:
        """Unpickled as it arrives (the answer is never whole in memory beside its objects: 1.4 MB
        at 1,000 chains), then trusted only if it ended there and the child exited cleanly."""
        try:
            with os.fdopen(self.fd, "rb", buffering=1 << 16, closefd=False) as pipe:
                try:
                    answer = pickle.load(pipe)
                except EOFError:  # nothing sent: nothing to offer, or the child failed first
                    return None
                if pipe.read(1):  # more than one answer: odd
                    return None
            pid = self.pid
            self.pid = None
            if pid is None or os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
                return None
            return answer
        except Exception:  # noqa: BLE001 - a truncated or odd answer: the parent refreshes itself
            return None
        finally:
            self.stop()

    def stop(self) -> None:
        """Kill the child if it still runs and reap it; close the pipe. Idempotent."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:  # already reaped
                pass
            self.pid = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _run_child(read_end: int, write_end: int, work: Callable[[], Any]) -> None:
    code = 1
    try:
        os.close(read_end)
        # Ctrl-C reaches the whole process group: the parent handles it and kills this child
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _die_with_parent()
        sys.dont_write_bytecode = True  # never a .pyc from here
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # nothing to say, and no pipe of the parent's caller held open
            os.dup2(null, fd)
        # nothing else of the parent's either (a lock file's flock, a caller's pipe): only the answer's pipe
        os.closerange(3, write_end)
        os.closerange(write_end + 1, forked.fd_limit())
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - whatever they were (a capture)
        answer = work()
        if answer is not None:
            data = memoryview(pickle.dumps(answer, protocol=5))
            while data:
                data = data[os.write(write_end, data) :]
        code = 0
    except BaseException:  # noqa: BLE001, S110 - the parent sees a failed child and refreshes itself
        pass
    finally:
        os._exit(code)  # no exit handlers, no flushing of the parent's buffers


def _die_with_parent() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's exit handler still kills it
        pass
    if os.getppid() == 1:  # the parent died before the prctl took
        os._exit(1)


class WarningsKept:
    """A logging handler for the child: what the `reconciler` loggers warn about, to be logged again
    by the parent (`relay`)."""

    def __init__(self) -> None:
        import logging

        self.records: list[tuple[str, int, str]] = []
        kept = self.records

        class _Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                kept.append((record.name, record.levelno, record.getMessage()))

        self.handler = _Keep(logging.WARNING)
        logging.getLogger("reconciler").addHandler(self.handler)


def relay(records: list[tuple[str, int, str]]) -> None:
    import logging

    for name, level, message in records:
        logging.getLogger(name).log(level, "%s", message)
