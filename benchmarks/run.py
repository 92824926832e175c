#!/usr/bin/env python3
"""Time the engine end to end through the CLI: apply from empty, a no-change plan, plan --refresh=false.

Why a separate runner: the figures in BENCHMARKS.md must be what a user gets from the `reconciler`
command, so every step is a fresh CLI process (`benchmarks/bench_cli.py`, the real entry point with
only the sandbox's 20-job quota lifted) against the embedded sandbox. Each step is measured from
outside: wall time around the process, peak RSS from `os.wait4` for exactly that child, and the
provider requests it made from the sandbox's own counters (`reconciler sandbox stats`).

For each N (chains of Dataset → FineTune → CheckpointExport → Deployment, 4N resources) and each
injected latency (ms per request, via RECONCILER_SANDBOX_FAULTS), starting from an empty state and
sandbox:

1. `apply -f DIR --auto-approve`                    (must exit 0)
2. `plan -f DIR --detailed-exitcode`                (refresh; must exit 0: no changes)
3. `plan -f DIR --refresh=false --detailed-exitcode` (must exit 0)

Jobs, exports and deployments are instant (RECONCILER_SANDBOX_TIME_SCALE=1e9). What it must not
do: run anything against a real provider, or time anything but the CLI process.

    python benchmarks/run.py                                   # N = 100 1000 2000, latency 0 and 50 ms
    python benchmarks/run.py --chains 100 --latency-ms 0       # one quick scenario
    python benchmarks/run.py --json results.json --workdir /tmp/reconciler-bench
    python benchmarks/run.py --chains 1000 --latency-ms 0 --state postgresql://USER@HOST:PORT/DB

With `--state URL` the state is a PostgreSQL database: each scenario starts in a new, empty
workspace of it (`bench/n<N>-lat<ms>-<time>`), so nothing needs clearing between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402  (a sibling script, not a package)

BENCH_CLI = HERE / "bench_cli.py"
TIME_FILE_ENV = "RECONCILER_BENCH_SANDBOX_TIME_FILE"
INSTANT_TIME_SCALE = "1e9"


@dataclass
class Step:
    name: str
    command: list[str]
    exit_code: int | None = None
    wall_s: float | None = None
    peak_rss_mb: float | None = None
    requests: int | None = None
    requests_by_route: dict[str, int] = field(default_factory=dict)
    sandbox_s: float | None = None  # time the in-process emulator held its lock (its own cost, not the engine's)
    note: str = ""


@dataclass
class Scenario:
    chains: int
    resources: int
    latency_ms: int
    steps: list[Step] = field(default_factory=list)


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def timed(command: list[str], env: dict[str, str], log: Path, timeout_s: float) -> tuple[int | None, float, float, str]:
    """Run `command`; return (exit code or None on timeout, wall seconds, peak RSS MB, note)."""
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    rss_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    if killed.is_set():
        return None, wall, rss_mb, f"killed after {timeout_s:.0f} s"
    return proc.returncode, wall, rss_mb, ""


def sandbox_counts(db: Path, env: dict[str, str], *, reset: bool) -> dict[str, int]:
    command = [sys.executable, str(BENCH_CLI), "sandbox", "stats", "--db", str(db), "--json"]
    if reset:
        command.append("--reset")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def state_arguments(state: str | None, chains: int, latency_ms: int) -> list[str]:
    """`--state`/`--workspace` for one scenario: a fresh PostgreSQL workspace, or the default SQLite file."""
    if not state:
        return []
    return ["--state", state, "--workspace", f"bench/n{chains}-lat{latency_ms}-{int(time.time())}"]


def run_scenario(directory: Path, chains: int, latency_ms: int, timeout_s: float, logs: Path,
                 state: str | None = None) -> Scenario:
    shutil.rmtree(directory / ".reconciler", ignore_errors=True)
    env = dict(os.environ)
    env["RECONCILER_SANDBOX_TIME_SCALE"] = INSTANT_TIME_SCALE
    env.pop("RECONCILER_SANDBOX_FAULTS", None)
    if latency_ms:
        env["RECONCILER_SANDBOX_FAULTS"] = json.dumps({"rules": [{"match": "*", "latency_ms": latency_ms}]})
    db = directory / ".reconciler" / "sandbox.db"
    cli = [sys.executable, str(BENCH_CLI)]
    where = state_arguments(state, chains, latency_ms)
    scenario = Scenario(chains=chains, resources=4 * chains, latency_ms=latency_ms)
    plan = [
        ("apply", [*cli, "apply", "-f", str(directory), "--auto-approve", *where]),
        ("plan", [*cli, "plan", "-f", str(directory), "--detailed-exitcode", *where]),
        ("plan --refresh=false", [*cli, "plan", "-f", str(directory), "--refresh=false", "--detailed-exitcode",
                                  *where]),
    ]
    for name, command in plan:
        step = Step(name=name, command=command)
        scenario.steps.append(step)
        log = logs / f"n{chains}-lat{latency_ms}-{name.split()[0]}{'-norefresh' if 'refresh' in name else ''}.log"
        print(f"  {name:<22}", end="", flush=True)
        lock_file = log.with_suffix(".sandbox.json")
        lock_file.unlink(missing_ok=True)
        step_env = {**env, TIME_FILE_ENV: str(lock_file)}
        step.exit_code, step.wall_s, step.peak_rss_mb, step.note = timed(command, step_env, log, timeout_s)
        if lock_file.exists():
            step.sandbox_s = json.loads(lock_file.read_text())["sandbox_lock_s"]
        if db.exists():
            step.requests_by_route = sandbox_counts(db, env, reset=True)
            step.requests = sum(step.requests_by_route.values())
        if step.exit_code != 0 and not step.note:
            step.note = f"exit code {step.exit_code} (see {log})"
        sandbox = f"{step.sandbox_s:7.2f} s in sandbox" if step.sandbox_s is not None else ""
        print(f"{step.wall_s:8.2f} s  {step.peak_rss_mb:7.1f} MB  {step.requests if step.requests is not None else '-':>6} requests"
              f"  {sandbox}  {step.note}", flush=True)
        if step.exit_code != 0:
            break  # the later steps measure a converged state; without one they mean nothing
    return scenario


def startup(env: dict[str, str], logs: Path) -> Step:
    """The fixed cost of one CLI process (interpreter + imports), for reading the small-N figures."""
    command = [sys.executable, str(BENCH_CLI), "--help"]
    step = Step(name="reconciler --help", command=command)
    step.exit_code, step.wall_s, step.peak_rss_mb, step.note = timed(command, env, logs / "startup.log", 60)
    return step


def markdown(scenarios: list[Scenario], start: Step) -> str:
    lines = [
        "| N chains | resources | latency | step | wall (s) | of which sandbox (s) | peak RSS (MB) | provider requests | note |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for s in scenarios:
        for st in s.steps:
            wall = f"{st.wall_s:.2f}" if st.wall_s is not None else "-"
            rss = f"{st.peak_rss_mb:.0f}" if st.peak_rss_mb is not None else "-"
            req = str(st.requests) if st.requests is not None else "-"
            sbx = f"{st.sandbox_s:.2f}" if st.sandbox_s is not None else "-"
            lines.append(
                f"| {s.chains} | {s.resources} | {s.latency_ms} ms | `{st.name}` | {wall} | {sbx} | {rss} | {req} | {st.note} |"
            )
    lines.append(f"\nCLI start-up alone (`reconciler --help`): {start.wall_s:.2f} s, {start.peak_rss_mb:.0f} MB.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, nargs="+", default=[100, 1000, 2000], help="values of N")
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 50], help="injected latency per request")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/reconciler-bench"), help="where the chains live")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before one step is killed")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--state", metavar="URL", help="a PostgreSQL state (postgresql://…) instead of SQLite")
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    logs = args.workdir / "logs"
    logs.mkdir(exist_ok=True)
    info = machine()
    print(f"machine: {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}")
    start = startup(dict(os.environ), logs)
    print(f"CLI start-up: {start.wall_s:.2f} s, {start.peak_rss_mb:.0f} MB")
    scenarios: list[Scenario] = []
    began = time.perf_counter()
    for chains in args.chains:
        directory = args.workdir / f"chains-{chains}"
        t = time.perf_counter()
        generate(directory, chains, force=True)
        print(f"N={chains}: generated {4 * chains} resources in {time.perf_counter() - t:.1f} s ({directory})")
        for latency in args.latency_ms:
            print(f" latency {latency} ms")
            scenarios.append(run_scenario(directory, chains, latency, args.timeout, logs, args.state))
    print(f"\ntotal {time.perf_counter() - began:.0f} s\n")
    print(markdown(scenarios, start))
    if args.json:
        payload = {
            "machine": info,
            "state": "postgresql" if args.state else "sqlite",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "startup": asdict(start),
            "scenarios": [asdict(s) for s in scenarios],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    failed = any(st.exit_code != 0 for s in scenarios for st in s.steps)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
