"""Kill the run at every mutating provider request, before and after it commits; then recover.

For each provider × scenario (crash_scenarios.py) the step is first run un-killed: that control
run must converge on its own, and the mutating requests it makes are the crash points. Then, for
each crash point and each mode, a trial starts from the same snapshot, the step is killed there
(os._exit in a forked child, crash_harness.py), `apply` is re-run to convergence, and the
invariants of DESIGN.md §3b are checked (crash_invariants.py). Every test runs twice: with the
state in the SQLite file beside the manifests, and in a PostgreSQL workspace (the whole matrix:
its crash points are the same requests, so it costs about as much again).

One test per provider × scenario × mode loops over its crash points and reports every failing
trial, not just the first; `pytest -s` prints one line per trial, and the terminal summary
tabulates them all.
"""

from __future__ import annotations

import pytest
from crash_harness import MODES
from crash_scenarios import SCENARIOS, combinations
from crash_trials import TRIALS_PROPERTY, Campaign, Verdict


def _report(record_property, verdicts: list[Verdict]) -> None:
    for v in verdicts:
        print(f"[crash] {v.line()}")
    record_property(TRIALS_PROPERTY, [v.to_dict() for v in verdicts])


def _failures(verdicts: list[Verdict]) -> str:
    failed = [v for v in verdicts if not v.passed]
    return f"{len(failed)}/{len(verdicts)} trials failed:\n" + "\n".join(v.line() for v in failed)


@pytest.fixture(params=["sqlite", "postgresql"])
def postgres_url(request: pytest.FixtureRequest) -> str | None:
    """Where the state lives: None for the SQLite file beside the manifests, else a PostgreSQL database."""
    return None if request.param == "sqlite" else request.getfixturevalue("pg_database")


@pytest.mark.parametrize(
    ("provider", "scenario"),
    combinations(crashable_only=False),
    ids=[f"{p}-{s}" for p, s in combinations(crashable_only=False)],
)
def test_uncrashed_step_converges(
    campaign: Campaign, record_property, provider: str, scenario: str, postgres_url: str | None
):
    verdict, made = campaign.control(provider, scenario, postgres_url)
    _report(record_property, [verdict])
    print(f"[crash] {provider}/{scenario}: {len(made)} mutating request(s): {made}")
    if provider in SCENARIOS[scenario].nothing_to_kill:
        assert made == [], f"{SCENARIOS[scenario].nothing_to_kill[provider]}, yet the step sent {made}"
    else:
        assert made, "the step made no mutating request, so there is nothing to crash at"
    assert verdict.passed, _failures([verdict])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "scenario"),
    combinations(crashable_only=True),
    ids=[f"{p}-{s}" for p, s in combinations(crashable_only=True)],
)
def test_every_crash_point_recovers(
    campaign: Campaign, record_property, provider: str, scenario: str, mode: str, postgres_url: str | None
):
    points = campaign.crash_points(provider, scenario, postgres_url)
    assert points, f"{provider}/{scenario}: the un-killed step made no mutating request to crash at"
    verdicts = [
        campaign.trial(provider, scenario, mode, point, i, postgres_url) for i, point in enumerate(points, 1)
    ]
    _report(record_property, verdicts)
    assert all(v.passed for v in verdicts), _failures(verdicts)
