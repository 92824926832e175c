#!/usr/bin/env python3
"""Where one CLI command's time goes, measured in process: imports, each phase, and the cyclic GC.

Why: wall time around a process says *how long*, not *where*; a profiler says where but inflates
Python-heavy code two to three times. This wraps a handful of phase functions with a timer (cheap:
a few calls each) and counts the time the cyclic garbage collector ran (`gc.callbacks`), then runs
the real `reconciler` entry point once, like `bench_cli.py` (the sandbox's 20-job quota lifted).

    python benchmarks/phases.py plan -f /tmp/chains --refresh=false

Phases nest (loading contains YAML and datasets); each line is inclusive. What it must not do:
change what the command does.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import time
from collections import defaultdict
from typing import Any

START = time.perf_counter()

# (module whose attribute is called, attribute, label); a target that does not exist is skipped.
TARGETS = [
    ("reconciler.workspace", "load_manifests", "loading manifests"),
    ("reconciler.workspace", "load", "loading manifests"),
    ("reconciler.loading.loader", "discover", "  file discovery"),
    ("reconciler.loading.discovering.ManifestWalk", "_scan", "  file discovery (scandir)"),
    ("reconciler.loading.loader", "parse_yaml", "  YAML"),
    ("reconciler.loading.parse_cache.ParseCache", "parse", "  YAML (through the parse cache)"),
    ("reconciler.loading.parse_cache.ParseCache", "__init__", "  parse cache: read"),
    ("reconciler.datasets.content_cache.ContentCache", "__init__", "  content cache: read"),
    ("reconciler.loading.loader", "read_envelope", "  envelopes (pydantic)"),
    ("reconciler.loading.loader", "validate_spec", "  specs (pydantic)"),
    ("reconciler.loading.loader", "check_datasets", "  dataset checks"),
    ("reconciler.loading.dataset_checks", "content_of_source", "    content hashing"),
    ("reconciler.loading.dataset_checks", "_check_layout", "    layout checks"),
    ("reconciler.state.sqlite.SqliteStateStore", "all", "state rows"),
    ("reconciler.workspace", "refresh", "refresh"),
    # (the refresh engine is imported inside this method since the start-up work: wrap the method)
    ("reconciler.workspace.Workspace", "_refresh", "refresh"),
    ("reconciler.engine.refreshing", "observe", "  folding observations into records"),
    ("reconciler.engine.refreshing", "observe_into", "  folding observations into records"),
    ("reconciler.workspace", "spec_hashes", "spec hashes (workspace)"),
    ("reconciler.workspace", "make_plan", "planning"),
    ("reconciler.engine.planning", "spec_hashes", "  spec hashes (planner)"),
    ("reconciler.workspace.Workspace", "_quote_prices", "pricing the plan"),
    ("reconciler.workspace.Workspace", "_explain_failures", "failed jobs' logs"),
    ("reconciler.render.text", "print_plan", "rendering the plan"),
    ("reconciler.render.text", "write_plan", "rendering the plan"),
    ("reconciler.workspace.Workspace", "adapters", "wiring providers (sandbox start)"),
    ("reconciler.engine.applying.Executor", "apply", "executing (apply)"),
    ("reconciler.render.apply_text", "print_apply_result", "rendering the result"),
]

_totals: dict[str, float] = defaultdict(float)
_cpu: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)


def _wrap(label: str, fn: Any) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _totals[label] += time.perf_counter() - start
            _cpu[label] += time.process_time() - cpu
            _calls[label] += 1

    return timed


def _install() -> None:
    for module_name, attr, label in TARGETS:
        owner: Any
        if module_name.rsplit(".", 1)[-1][:1].isupper():  # a class: module.Class
            mod, cls = module_name.rsplit(".", 1)
            try:
                owner = getattr(importlib.import_module(mod), cls)
            except (ImportError, AttributeError):
                continue
        else:
            try:
                owner = importlib.import_module(module_name)
            except ImportError:
                continue
        fn = getattr(owner, attr, None)
        if fn is not None:
            setattr(owner, attr, _wrap(label, fn))


IMPORT_CPU = [0.0]
_gc_time = [0.0]
_gc_since = [0.0]


def _gc_callback(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_since[0] = time.perf_counter()
    else:
        _gc_time[0] += time.perf_counter() - _gc_since[0]


def main() -> None:
    gc.callbacks.append(_gc_callback)
    from reconciler.cli import collector
    from reconciler.cli import main as cli

    imported = time.perf_counter()
    IMPORT_CPU[0] = time.process_time()
    _install()
    import reconciler.sandbox.dashscope.fine_tunes as sandbox_fine_tunes  # counted in its phase's time

    sandbox_fine_tunes.QUOTA = 1_000_000
    try:
        from reconciler.cli import code_cache
    except ImportError:  # a reconciler from before the cache of generated code
        pass
    else:
        code_cache.install()  # what the `reconciler` executable does (reconciler.cli.run)
    collector.pause()  # what the `reconciler` executable does (reconciler.cli.run)
    code = 0
    try:
        cli(args=sys.argv[1:], prog_name="reconciler", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    end = time.perf_counter()
    out = sys.stderr
    print(f"\n{'phase':<32} {'wall s':>8} {'CPU s':>8} {'calls':>7}", file=out)
    print(f"{'start-up (interpreter, CLI)':<32} {imported - START:8.3f} {IMPORT_CPU[0]:8.3f}", file=out)
    for label in dict.fromkeys(label for _, _, label in TARGETS):
        if label in _totals:
            print(f"{label:<32} {_totals[label]:8.3f} {_cpu[label]:8.3f} {_calls[label]:7d}", file=out)
    print(f"{'cyclic GC (all of the above)':<32} {_gc_time[0]:8.3f}", file=out)
    times = os.times()
    print(
        f"{'total in process':<32} {end - START:8.3f} {times.user + times.system:8.3f}   exit {code}",
        file=out,
    )


if __name__ == "__main__":
    main()
