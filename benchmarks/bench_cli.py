#!/usr/bin/env python3
"""The `reconciler` command, with the sandbox's 20-job DashScope quota lifted — for benchmarks only.

Why: the sandbox faithfully refuses a 21st running-or-succeeded fine-tune per account
("Only 20 fine-tune job in running or succeeded allowed per user."), so 100–2000 chains cannot
be applied against it as shipped. This wrapper raises that one constant in the emulator and then
runs the unchanged CLI entry point in the same process; every other code path — loading,
planning, refresh, apply, the state store, the sandbox's routes and timing — is what users run.

The quota is raised as the emulator's module is imported (an import hook), so commands that
never start the sandbox import exactly what the real entry point imports.

With RECONCILER_BENCH_SANDBOX_TIME_FILE=PATH it also writes, at exit, how long the in-process
sandbox held its store lock (all emulator work runs under that one lock, so this is the share of
wall time the *emulator* cost, not the engine), as JSON {"sandbox_lock_s": float}.

What it must not do: change anything but the emulator's quota, or be used outside benchmarks.

    python benchmarks/bench_cli.py apply -f DIR --auto-approve
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

try:
    from reconciler.cli import run
except ImportError:  # a reconciler from before the quick-exit entry point (run.py --reconciler-path)
    from reconciler.cli import main as run  # type: ignore[assignment]

BENCHMARK_FINE_TUNE_QUOTA = 1_000_000
TIME_FILE_ENV = "RECONCILER_BENCH_SANDBOX_TIME_FILE"
QUOTA_MODULE = "reconciler.sandbox.dashscope.fine_tunes"


class _RaiseQuotaOnImport(importlib.abc.MetaPathFinder):
    """Lift the quota when the emulator is imported, not before: a command that never starts the
    sandbox (`plan --refresh=false`, `--help`) must not pay for importing it here either."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != QUOTA_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:  # pragma: no cover
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            module.QUOTA = BENCHMARK_FINE_TUNE_QUOTA

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


class HoldTimedRLock:
    """An RLock that adds up how long it was held (outermost acquire to matching release)."""

    def __init__(self, totals: list[float]) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()
        self._totals = totals

    def __enter__(self) -> HoldTimedRLock:
        self._lock.acquire()
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._local.since = time.perf_counter()
        self._local.depth = depth + 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.depth -= 1
        if self._local.depth == 0:
            self._totals[0] += time.perf_counter() - self._local.since
        self._lock.release()


def time_sandbox_lock(path: Path) -> None:
    import reconciler.sandbox.store as sandbox_store

    totals = [0.0]
    original_init = sandbox_store.Store.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.lock = HoldTimedRLock(totals)

    sandbox_store.Store.__init__ = init  # type: ignore[method-assign]
    atexit.register(lambda: path.write_text(json.dumps({"sandbox_lock_s": totals[0]})))


if __name__ == "__main__":
    sys.meta_path.insert(0, _RaiseQuotaOnImport())
    if os.environ.get(TIME_FILE_ENV):
        time_sandbox_lock(Path(os.environ[TIME_FILE_ENV]))
    run()
