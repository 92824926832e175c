"""One crash trial, end to end: snapshot → crashing step → recovery → invariants → a verdict.

Why snapshots: the state before the step ("applied once, then n_epochs edited") is built once per
provider × scenario, then each trial starts from a copy of its directory (manifests, state and
sandbox databases, the clock file) — a file copy instead of a full apply per trial.

The un-killed run of the step (the *control*) is the enumeration: the mutating requests it makes
are the crash points. It is also a trial of its own: if the control fails, the engine is wrong
without any crash, and every crash trial would fail for that reason too.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from crash_harness import CrashPoint, Mode, copy_tree, recover, run_step, use_postgres, wait_for_unlock
from crash_invariants import check
from crash_scenarios import REPO, SCENARIOS, SUBJECTS, Scenario

TRIALS_PROPERTY = "crash_trials"  # the report property that carries a test's verdicts to the summary


@dataclass
class Verdict:
    provider: str
    scenario: str
    point: str  # "before POST /api/v1/fine-tunes#1", or "no kill" for the control
    store: str = "sqlite"  # or "postgresql"
    problems: list[str] = field(default_factory=list)
    recovery_applies: int = 0
    notes: list[str] = field(default_factory=list)  # worth reporting, but no invariant broken

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def title(self) -> str:
        return f"{self.provider}/{self.scenario}/{self.point}" + (
            "" if self.store == "sqlite" else f" [{self.store}]"
        )

    def line(self) -> str:
        notes = "".join(f"; note: {n}" for n in self.notes)
        if self.passed:
            return f"PASS {self.title} (recovery: {self.recovery_applies} apply run(s){notes})"
        return f"FAIL {self.title}: " + " | ".join(self.problems) + notes

    def to_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "scenario": self.scenario,
            "point": self.point,
            "store": self.store,
            "problems": self.problems,
            "recovery_applies": self.recovery_applies,
            "notes": self.notes,
        }


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else text


def build_baseline(root: Path, provider: str, scenario: Scenario, postgres_url: str | None = None) -> Path:
    """The state right before the crashing step (in a PostgreSQL workspace when `postgres_url` is given)."""
    subject = SUBJECTS[provider]
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(
        REPO / subject.example, root, ignore=shutil.ignore_patterns(".reconciler", *subject.left_out)
    )
    if postgres_url is not None:
        use_postgres(root, postgres_url)
    if scenario.applied_first:
        setup = run_step(root, provider, destroy=False, wait=True, crash=None)
        if setup.error or not setup.result or not setup.result.get("ok"):
            raise AssertionError(
                f"{provider}/{scenario.name}: the setup apply failed, so no trial can run: "
                f"{setup.result or _last_line(setup.error or 'no result')}"
            )
    if scenario.edited:
        subject.edits[scenario.name](root)
    return root


def run_trial(
    baseline: Path,
    work: Path,
    provider: str,
    scenario_name: str,
    crash: CrashPoint | None,
    store: str = "sqlite",
) -> tuple[Verdict, list[str]]:
    """Returns the verdict and the mutating requests the step made before it ended (or died)."""
    scenario = SCENARIOS[scenario_name]
    root = copy_tree(baseline, work)
    verdict = Verdict(provider, scenario_name, str(crash) if crash else "no kill", store=store)
    problems = verdict.problems

    step = run_step(root, provider, destroy=scenario.destroy, wait=scenario.step_wait, crash=crash)
    wait_for_unlock(root)
    made = list(step.trace.get("mutating") or [])
    if step.hung:
        problems.append("the step hung (killed by the watchdog)")
    elif crash is not None and not step.crashed:
        problems.append(f"harness: crash point not reached; the step made {made}")
    elif step.error:
        problems.append(f"the step raised: {_last_line(step.error)}")
    elif crash is None and step.result and step.result.get("ok") is False:
        problems.append(f"the un-killed step failed: {step.result.get('failed')}")

    rec = recover(root, provider, destroy=scenario.destroy)
    if rec.hung:
        problems.append("recovery hung (killed by the watchdog)")
    elif rec.error:
        problems.append(f"recovery raised: {_last_line(rec.error)}")
    elif rec.result:
        applies = rec.result.get("applies") or []
        verdict.recovery_applies = len(applies)
        if not rec.result.get("converged"):
            last = applies[-1] if applies else {}
            problems.append(
                f"not converged after {len(applies)} applies (last: failed={last.get('failed')}, "
                f"plan errors={last.get('plan_errors')})"
            )
    if store == "postgresql" and (root / ".reconciler" / "state.db").exists():
        problems.append("harness: a SQLite state file appeared in a PostgreSQL trial")
    unclassified = sorted(
        set(step.trace.get("unclassified") or []) | set(rec.trace.get("unclassified") or [])
    )
    if unclassified:
        problems.append(f"harness: unclassified requests {unclassified}; add them to crash_routes.ROUTES")
    try:
        problems.extend(check(root, provider, scenario, notes=verdict.notes))
    except Exception as e:  # the invariants must be reported, not crash the test
        problems.append(f"invariant check raised: {type(e).__name__}: {e}")
    if verdict.passed:
        shutil.rmtree(work, ignore_errors=True)
    return verdict, made


class Campaign:
    """Per-process cache of baselines and control runs, keyed by store × provider × scenario.

    `postgres_url`: run on a PostgreSQL state (each baseline and trial in a workspace of its own in
    that database) instead of the SQLite file beside the manifests.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self._baselines: dict[tuple[str | None, str, str], Path] = {}
        self._controls: dict[tuple[str | None, str, str], tuple[Verdict, list[str]]] = {}

    def _dir(self, provider: str, scenario: str, postgres_url: str | None) -> Path:
        return self.base / (f"{provider}-{scenario}" + ("-pg" if postgres_url else ""))

    def baseline(self, provider: str, scenario: str, postgres_url: str | None = None) -> Path:
        key = (postgres_url, provider, scenario)
        if key not in self._baselines:
            self._baselines[key] = build_baseline(
                self._dir(provider, scenario, postgres_url) / "baseline",
                provider,
                SCENARIOS[scenario],
                postgres_url,
            )
        return self._baselines[key]

    def control(
        self, provider: str, scenario: str, postgres_url: str | None = None
    ) -> tuple[Verdict, list[str]]:
        key = (postgres_url, provider, scenario)
        if key not in self._controls:
            work = self._dir(provider, scenario, postgres_url) / "control"
            self._controls[key] = run_trial(
                self.baseline(provider, scenario, postgres_url),
                work,
                provider,
                scenario,
                None,
                store="postgresql" if postgres_url else "sqlite",
            )
        return self._controls[key]

    def crash_points(self, provider: str, scenario: str, postgres_url: str | None = None) -> list[str]:
        return self.control(provider, scenario, postgres_url)[1]

    def trial(
        self,
        provider: str,
        scenario: str,
        mode: Mode,
        point: str,
        index: int,
        postgres_url: str | None = None,
    ) -> Verdict:
        work = self._dir(provider, scenario, postgres_url) / f"{mode}-{index:02d}"
        verdict, _ = run_trial(
            self.baseline(provider, scenario, postgres_url),
            work,
            provider,
            scenario,
            CrashPoint(point, mode),
            store="postgresql" if postgres_url else "sqlite",
        )
        return verdict
