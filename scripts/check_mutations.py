"""Break the crash-safety code on purpose, one way at a time, and check that a test fails each time.

A test suite that stays green with the feature broken is a defect (issue 8). Each mutation below
is one of the breakages an audit found the old suite blind to, or one the crash protocol depends
on. For each: patch the source text, run the named tests, expect a failure, restore the file.

    python scripts/check_mutations.py            # all of them
    python scripts/check_mutations.py lineage    # those whose name contains "lineage"

Prints one line per mutation (KILLED = a test failed, as it must; SURVIVED = the suite missed it)
and exits 1 if any survived. Not part of `.ci/run` (it runs the crash suite once per mutation).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


CRASH = "tests/crash/test_crash_points.py"
RECOVERY = "tests/engine/test_recovery.py"
DASHSCOPE = "tests/providers/test_dashscope_adapter_documented.py"
WAVESPEED = "tests/providers/wavespeed"
LIFECYCLE = "tests/engine/test_dashscope_lifecycle.py"

MUTATIONS = (
    Mutation(
        "no journal row before a create",
        "reconciler/engine/applying.py",
        '        entry = self.store.journal_open(\n            a.address,\n            "create",',
        '        entry = 0 and self.store.journal_open(\n            a.address,\n            "create",',
        (CRASH, RECOVERY),
    ),
    Mutation(
        "journal rows not resolved",
        "reconciler/workspace.py",
        "        entries = store.open_journal()\n        if not entries:",
        "        entries = []\n        if not entries:",
        (CRASH, RECOVERY),
    ),
    Mutation(
        "open rows of addresses in state not resolved",
        "reconciler/engine/recovering.py",
        "        got = look_up(\n            entry,",
        "        if entry.address in records:\n            continue\n        got = look_up(\n            entry,",
        (CRASH, RECOVERY),
    ),
    Mutation(
        "one negative look-up proves absence",
        "reconciler/engine/recovering.py",
        "    if age < window:",
        "    if False:",
        (RECOVERY,),
    ),
    Mutation(
        "ambiguous create settled by one look-up in the run",
        "reconciler/engine/applying.py",
        "            if waited >= window:",
        "            if True:",
        (RECOVERY,),
    ),
    Mutation(
        "adoptions found by refresh not stored",
        "reconciler/workspace.py",
        '                    store.put(rec, event="adopted", detail={"remote_id": obs.remote_id, "by": "refresh"})',
        "                    pass",
        ("tests/engine",),
    ),
    Mutation(
        "lineage not compared",
        "reconciler/engine/planning.py",
        "        stale = [] if forced_by else self._stale_lineage(r, record, hash_moved=spec_changed)",
        "        stale = []",
        (CRASH, RECOVERY),
    ),
    Mutation(
        "unsettled passes as converged",
        "reconciler/engine/planning.py",
        "        if obs is not None and obs.phase is Phase.PENDING:",
        "        if False:",
        (CRASH, RECOVERY),
    ),
    Mutation(
        "deposed objects deleted before the replacement is ready",
        "reconciler/engine/planning.py",
        "                        depends_on=[address, *gates],",
        "                        depends_on=[*gates],",
        (CRASH, RECOVERY),
    ),
    Mutation(
        "saved plans' lineage not checked",
        "reconciler/workspace.py",
        "        if plan.lineage and meta.lineage and plan.lineage != meta.lineage:",
        "        if False:",
        (LIFECYCLE,),
    ),
    Mutation(
        "dataset not re-checked at apply",
        "reconciler/engine/applying.py",
        "        self._verify_content(desired)\n        adapter",
        "        adapter",
        (LIFECYCLE,),
    ),
    Mutation(
        "an in-place update never sent",
        "reconciler/engine/applying.py",
        "            obs = adapter.update(desired, current)",
        "            obs = adapter.read(current)",
        ("tests/engine/test_updates.py",),
    ),
    Mutation(
        "DashScope job fingerprint ignores hyper-parameters",
        "reconciler/providers/dashscope/matching.py",
        "    return all(\n        same_hyper_parameter(v, wanted[k])",
        "    return True or all(\n        same_hyper_parameter(v, wanted[k])",
        (DASHSCOPE,),
    ),
    Mutation(
        "DashScope job fingerprint ignores training file ids",
        "reconciler/providers/dashscope/matching.py",
        '    if sorted(job.training_file_ids) != sorted(fp["training_file_ids"]):',
        "    if False:",
        (DASHSCOPE,),
    ),
    Mutation(
        "DashScope job fingerprint ignores claimed jobs",
        "reconciler/providers/dashscope/handlers.py",
        "                if j.job_id not in claimed\n                and job_matches(j, fp)",
        "                if True\n                and job_matches(j, fp)",
        (DASHSCOPE,),
    ),
    Mutation(
        "WaveSpeed fingerprint ignores the dataset URL",
        "reconciler/providers/wavespeed/handlers.py",
        '        if wanted.get("data") is not None and given.get("data") != wanted["data"]:',
        "        if False:",
        (WAVESPEED,),
    ),
    Mutation(
        "a twin is kept",
        "reconciler/engine/recovering.py",
        "        if e.twins:\n            kept, extra = keep_oldest(e.twins)",
        "        if False:\n            kept, extra = keep_oldest(e.twins)",
        (RECOVERY,),
    ),
    Mutation(
        "a twin is kept (in the run)",
        "reconciler/engine/applying.py",
        "                if m.twins:\n                    return self._keep_oldest(a, m.twins)",
        "                if False:\n                    return self._keep_oldest(a, m.twins)",
        (RECOVERY,),
    ),
    Mutation(
        "a suffix kept across a redeploy is created beside the old one",
        "reconciler/providers/dashscope/facts.py",
        "            if (new_suffix and new_suffix == old_suffix) or",
        "            if False or",
        (LIFECYCLE,),
    ),
)


def run(m: Mutation) -> tuple[bool, float]:
    path = REPO / m.path
    original = path.read_text()
    if m.old not in original:
        raise SystemExit(f"{m.name}: the text to mutate is no longer in {m.path}; update this script")
    started = time.monotonic()
    try:
        path.write_text(original.replace(m.old, m.new, 1))
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-n", "2", "-p", "no:cacheprovider", *m.tests],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
    finally:
        path.write_text(original)
    return done.returncode != 0, time.monotonic() - started


def main(argv: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not argv or any(a in m.name for a in argv)]
    survived = []
    for m in chosen:
        killed, took = run(m)
        print(f"{'KILLED  ' if killed else 'SURVIVED'} {took:6.1f}s  {m.name}", flush=True)
        if not killed:
            survived.append(m.name)
    print(f"{len(chosen) - len(survived)} of {len(chosen)} mutations killed")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
