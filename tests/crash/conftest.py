"""Crash-suite fixtures, and the summary of every crash trial at the end of the run.

Why a summary hook: one test covers every crash point of a provider × scenario × mode, so the
pass/fail line of pytest says too little. Each test attaches its trials' verdicts to its report
(`user_properties`, which pytest-xdist ships from the workers to the controller); the controller
prints, per provider × scenario, how many crash points were covered and how many trials passed,
then every failing trial with the invariants it broke.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from crash_harness import fidelity_name
from crash_trials import TRIALS_PROPERTY, Campaign

_verdicts: list[dict] = []


@pytest.fixture(scope="session")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    return Campaign(Path(tmp_path_factory.mktemp("crash")))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == TRIALS_PROPERTY:
            _verdicts.extend(value)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not _verdicts:
        return
    tr = terminalreporter
    tr.section("crash points")
    tr.write_line(f"sandbox fidelity: {fidelity_name()}")
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    points: dict[tuple[str, str], set[str]] = defaultdict(set)
    for v in _verdicts:
        key = (v["provider"], v["scenario"] + ("" if v.get("store", "sqlite") == "sqlite" else " [pg]"))
        row = table[key]
        kind = "control" if v["point"] == "no kill" else "crash"
        row[f"{kind}_total"] += 1
        row[f"{kind}_passed"] += not v["problems"]
        if kind == "crash":
            points[key].add(v["point"].split(" ", 1)[1])  # "after POST /x#1" -> the request
    tr.write_line(
        f"{'provider/scenario [store]':32} {'crash points':>12} {'trials passed':>14} {'control':>8}"
    )
    totals = [0, 0, 0]
    for (provider, scenario), row in sorted(table.items()):
        trials, passed = row["crash_total"], row["crash_passed"]
        totals = [totals[0] + len(points[(provider, scenario)]), totals[1] + passed, totals[2] + trials]
        control = "-" if not row["control_total"] else "pass" if row["control_passed"] else "FAIL"
        tr.write_line(
            f"{provider + '/' + scenario:32} {len(points[(provider, scenario)]):>12} "
            f"{f'{passed}/{trials}':>14} {control:>8}"
        )
    tr.write_line(f"{'total':32} {totals[0]:>12} {f'{totals[1]}/{totals[2]}':>14}")
    failing = [v for v in _verdicts if v["problems"]]
    if failing:
        tr.write_line("")
        tr.write_line(f"{len(failing)} failing trial(s):")
        for v in sorted(failing, key=lambda v: (v["provider"], v["scenario"], v["point"])):
            tr.write_line(
                f"  {v['provider']}/{v['scenario']}/{v['point']} [{v.get('store', 'sqlite')}]: "
                + " | ".join(v["problems"])
            )
    noted = [v for v in _verdicts if v.get("notes")]
    if noted:
        tr.write_line("")
        tr.write_line(f"{len(noted)} trial(s) with notes (no invariant broken):")
        for v in sorted(noted, key=lambda v: (v["provider"], v["scenario"], v["point"])):
            tr.write_line(f"  {v['provider']}/{v['scenario']}/{v['point']}: " + " | ".join(v["notes"]))
