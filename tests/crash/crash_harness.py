"""Kill a run at an exact provider request: fork, count mutating requests, `os._exit` at crash point k.

Why fork and `os._exit`: a kill -9 gives the process no chance to clean up — no `finally`, no
flushed buffers, no closed transactions, no released lock but the kernel's. `os._exit` in a forked
child is the same death, landed deterministically: *before* a request reaches the provider, or
*after* the provider committed it but before the response arrives. Every engine run (the crashing
step and each recovery apply) happens in its own child, with a real-time watchdog, so nothing the
engine does can take the pytest process down or hang it.

What carries over between processes is only what would survive a real crash: the manifest
directory, the state (a SQLite file on disk, or a workspace of a PostgreSQL database), the sandbox
database (on disk), and the fake clock's time, which the child writes to a file right before it dies.

Which store a trial runs on: a root whose `.reconciler/crash-state.json` names a PostgreSQL URL and
workspace uses that workspace (`use_postgres`); otherwise the SQLite file beside the manifests. A
snapshot of a PostgreSQL root copies its workspace into a new one (`copy_tree`), as `state migrate`
would; a child that died holding the PostgreSQL lock has its session ended by the server, and
`wait_for_unlock` waits (in real time, briefly) for the server to notice before the next run.

Crash points are named by route and occurrence ("POST /api/v1/fine-tunes#1"), found by running the
step once un-killed. A name, unlike a bare index, still points at the same request if background
waits reorder unrelated calls. The engine runs with `parallelism=1` so the order is stable anyway.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from crash_routes import classify

from reconciler.clock import Clock, FakeClock
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

Mode = Literal["before", "after"]
MODES: tuple[Mode, ...] = ("before", "after")

CRASH_EXIT = 137  # what a shell reports for kill -9
TIME_SCALE = 600.0  # the sandbox default, fixed here so RECONCILER_SANDBOX_TIME_SCALE cannot change a trial
SEED = 7
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
RESTART_DELAY_S = 2.0  # an operator re-runs a moment later; never hours, which would hide races
MAX_RECOVERY_APPLIES = 4
CHILD_TIMEOUT_S = 120.0  # real seconds; FakeClock makes waits instant, so only a hang gets here
PARALLELISM = 1  # a deterministic request order (the invariants do not depend on parallelism)

STATE_DIR = ".reconciler"
CLOCK_FILE = "crash-clock.json"
TRACE_FILE = "crash-trace.json"
RESULT_FILE = "crash-result.json"
STATE_FILE = "crash-state.json"  # {"url": ..., "workspace": ...}: this root's state is in PostgreSQL


# --------------------------------------------------------------------------- the environment
def documented_fidelity() -> dict[str, Any]:
    """`fidelity="documented"` once the sandbox has the mode (DESIGN.md §5: every crash test uses it).

    Note: until `Sandbox.__init__` accepts `fidelity`, the suite runs against the default emulator.
    """
    return {"fidelity": "documented"} if "fidelity" in inspect.signature(Sandbox.__init__).parameters else {}


def fidelity_name() -> str:
    return documented_fidelity().get("fidelity", "default (the sandbox has no fidelity parameter yet)")


def sandbox_db(root: Path) -> Path:
    return root / STATE_DIR / "sandbox.db"


def open_sandbox(root: Path, clock: Clock) -> Sandbox:
    return Sandbox(
        db_path=sandbox_db(root), clock=clock, time_scale=TIME_SCALE, seed=SEED, **documented_fidelity()
    )


def postgres_state(root: Path) -> dict[str, str] | None:
    path = root / STATE_DIR / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def use_postgres(root: Path, url: str) -> None:
    """From now on, `root`'s state is a workspace of its own in the database at `url`."""
    path = root / STATE_DIR / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"url": url, "workspace": f"crash/{root.parent.name}/{root.name}/{uuid.uuid4().hex[:8]}"})
    )


def workspace(
    root: Path, clock: Clock, sandbox: Sandbox, provider: str, transport: httpx.BaseTransport
) -> Workspace:
    wiring = WiringContext(env={}, clock=clock, sandbox=sandbox, transports={provider: transport})
    pg = postgres_state(root)
    return Workspace(
        [root],
        clock=clock,
        wiring=wiring,
        parallelism=PARALLELISM,
        state_path=pg["url"] if pg else None,
        workspace=pg["workspace"] if pg else None,
    )


def wait_for_unlock(root: Path, timeout: float = 10.0) -> None:
    """After a kill: the PostgreSQL server frees a dead session's lock as soon as it notices the
    closed connection (milliseconds); wait for that, so the next run is not refused."""
    pg = postgres_state(root)
    if pg is None:
        return
    from reconciler.state.postgres import PostgresStateStore

    deadline = time.monotonic() + timeout
    with PostgresStateStore.open(pg["url"], workspace=pg["workspace"], readonly=True) as store:
        while store.lock_info() is not None:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the lock of {pg['workspace']} is still held {timeout:.0f}s after a kill"
                )
            time.sleep(0.005)


def read_clock(root: Path) -> float:
    path = root / STATE_DIR / CLOCK_FILE
    return float(json.loads(path.read_text())["now"]) if path.exists() else START


def write_clock(root: Path, now: float) -> None:
    path = root / STATE_DIR / CLOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"now": now}))


def copy_tree(src: Path, dst: Path) -> Path:
    """A snapshot: manifests, state and sandbox databases (with WAL files and blobs), and the clock.

    A PostgreSQL state is copied into a new workspace for `dst` (opened and closed here, so no
    connection is open when a child is forked)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    for name in (TRACE_FILE, RESULT_FILE):
        (dst / STATE_DIR / name).unlink(missing_ok=True)
    pg = postgres_state(src)
    if pg is not None:
        from reconciler.state.moving import copy_state
        from reconciler.state.postgres import PostgresStateStore

        use_postgres(dst, pg["url"])
        copy = postgres_state(dst)
        assert copy is not None
        with PostgresStateStore.open(pg["url"], workspace=pg["workspace"], readonly=True) as source:
            if source.meta().lineage:  # an empty baseline stays empty
                with PostgresStateStore.open(copy["url"], workspace=copy["workspace"]) as target:
                    copy_state(source, target)
    return dst


# --------------------------------------------------------------------------- the killing transport
@dataclass(frozen=True)
class CrashPoint:
    name: str  # "<route label>#<occurrence>", e.g. "POST /api/v1/fine-tunes#2"
    mode: Mode

    def __str__(self) -> str:
        return f"{self.mode} {self.name}"


class CrashingTransport(httpx.BaseTransport):
    """Forwards to the sandbox, names every mutating request, and dies at the crash point."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        provider_type: str,
        crash: CrashPoint | None,
        on_death: Callable[[], None],
    ) -> None:
        self._inner = inner
        self._provider_type = provider_type
        self._crash = crash
        self._on_death = on_death
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self.mutating: list[str] = []
        self.unclassified: list[str] = []

    def trace(self, **extra: Any) -> dict[str, Any]:
        with self._lock:
            return {"mutating": list(self.mutating), "unclassified": list(self.unclassified), **extra}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        kind = classify(self._provider_type, request.method, request.url.path)
        name = None
        with self._lock:
            if not kind.known:
                self.unclassified.append(kind.label)
            if kind.mutating:
                n = self._counts.get(kind.label, 0) + 1
                self._counts[kind.label] = n
                name = f"{kind.label}#{n}"
                self.mutating.append(name)
        hit = self._crash is not None and name == self._crash.name
        if hit and self._crash.mode == "before":
            self._die()
        response = self._inner.handle_request(request)
        if hit:
            self._die()  # the provider committed it; the response never arrives
        return response

    def _die(self) -> None:
        try:
            self._on_death()
        finally:
            os._exit(CRASH_EXIT)


# --------------------------------------------------------------------------- running in a child
@dataclass
class ChildOutcome:
    exit_code: int | None  # None: killed by the watchdog
    result: dict[str, Any] | None
    error: str | None  # the child's traceback, if it raised
    trace: dict[str, Any] = field(default_factory=dict)

    @property
    def crashed(self) -> bool:
        return self.exit_code == CRASH_EXIT

    @property
    def hung(self) -> bool:
        return self.exit_code is None


def run_in_child(
    root: Path, body: Callable[[], dict[str, Any]], timeout: float = CHILD_TIMEOUT_S
) -> ChildOutcome:
    """Run `body` in a forked child; it must leave the process only through `os._exit`."""
    result_path = root / STATE_DIR / RESULT_FILE
    trace_path = root / STATE_DIR / TRACE_FILE
    result_path.unlink(missing_ok=True)
    trace_path.unlink(missing_ok=True)
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            out = body()
            result_path.write_text(json.dumps({"result": out}, default=str))
            code = 0
        except BaseException:
            result_path.write_text(json.dumps({"error": traceback.format_exc()}))
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    exit_code: int | None = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            exit_code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.005)
    payload = json.loads(result_path.read_text()) if result_path.exists() else {}
    trace = json.loads(trace_path.read_text()) if trace_path.exists() else {}
    return ChildOutcome(exit_code, payload.get("result"), payload.get("error"), trace)


def _summary(plan: Any, result: Any) -> dict[str, Any]:
    """What an apply did, small enough for a report line."""
    out: dict[str, Any] = {
        "actions": {
            a.address + (f"#deposed:{a.deposed}" if a.deposed else ""): a.action.value
            for a in plan.actions
            if a.is_change
        },
        "plan_errors": [e.get("message", str(e)) for e in plan.errors],
    }
    if result is None:
        out["result"] = None
    else:
        out["ok"] = result.ok
        out["failed"] = {a: o.message for a, o in result.outcomes.items() if o.outcome.value == "failed"}
    return out


def _engine_run(
    root: Path,
    provider: str,
    crash: CrashPoint | None,
    start: float,
    run: Callable[[Callable[[], Workspace], FakeClock], dict[str, Any]],
) -> dict[str, Any]:
    """One engine process: a fresh clock, sandbox handle, transport and workspace(s)."""
    clock = FakeClock(start)
    sandbox = open_sandbox(root, clock)
    transport: CrashingTransport

    def save(**extra: Any) -> None:
        write_clock(root, clock.now())
        (root / STATE_DIR / TRACE_FILE).write_text(json.dumps(transport.trace(**extra)))

    transport = CrashingTransport(sandbox.transport(), provider, crash, on_death=lambda: save(crashed=True))
    try:
        out = run(lambda: workspace(root, clock, sandbox, provider, transport), clock)
    finally:
        save(crashed=False)
    sandbox.close()
    return out


def run_step(
    root: Path, provider: str, *, destroy: bool, wait: bool, crash: CrashPoint | None
) -> ChildOutcome:
    """The step under test (`apply`, `apply --no-wait` or `destroy`), in a child, killed at `crash`."""

    def body() -> dict[str, Any]:
        def run(make: Callable[[], Workspace], clock: FakeClock) -> dict[str, Any]:
            plan, result = make().apply(destroy=destroy, wait=wait)
            return _summary(plan, result)

        return _engine_run(root, provider, crash, read_clock(root), run)

    return run_in_child(root, body)


def recover(root: Path, provider: str, *, destroy: bool) -> ChildOutcome:
    """What an operator does after a crash: run the command again (a moment later) until the plan is empty."""

    def body() -> dict[str, Any]:
        def run(make: Callable[[], Workspace], clock: FakeClock) -> dict[str, Any]:
            applies = []
            converged = False
            for _ in range(MAX_RECOVERY_APPLIES):
                plan, result = make().apply(destroy=destroy)
                applies.append(_summary(plan, result))
                check = make().plan(destroy=destroy)
                if not check.has_changes and not check.errors:
                    converged = True
                    break
                clock.advance(RESTART_DELAY_S)
            return {"applies": applies, "converged": converged}

        return _engine_run(root, provider, None, read_clock(root) + RESTART_DELAY_S, run)

    return run_in_child(root, body)
