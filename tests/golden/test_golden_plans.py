"""Golden plans, one case per directory (after Terraform's testdata/<case>/): inputs → plan → text, JSON, Markdown.

Each case directory holds `manifests/`, `state.json`, optional `observations.json` and
`discovered.json`, `case.json` (fixed `now`, options, and a few facts asserted independently of
the golden files), and the expected `plan.txt`, `plan.json`, `plan.md`. Inputs are written by
`build_cases.py`; expected outputs by `pytest tests/golden --update-golden` (see README.md here).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.planning import PlanInputs, make_plan
from reconciler.engine.refreshing import observe
from reconciler.loading import load
from reconciler.models.plans import Plan
from reconciler.models.resources import ManifestSet
from reconciler.models.state import ResourceRecord, StateMeta, iso_utc
from reconciler.providers.interface import Observation, Phase
from reconciler.render import plan_from_json, plan_to_json, plan_to_markdown, plan_to_text
from reconciler.wiring import provider_economics, undeletable_kinds

HERE = Path(__file__).resolve().parent
CASES = sorted(p.name for p in HERE.iterdir() if (p / "manifests").is_dir())
GOLDEN_VERSION = "0.0.0-golden"
OUTPUTS = {"plan.txt": plan_to_text, "plan.json": plan_to_json, "plan.md": plan_to_markdown}


def _read(path: Path, default: Any = None) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def _observations(data: dict[str, dict[str, Any]]) -> dict[str, Observation]:
    return {
        address: Observation(**{**fields, "phase": Phase(fields["phase"])})
        for address, fields in data.items()
    }


def build_plan(case_dir: Path, before_planning: Callable[[ManifestSet], None] | None = None) -> Plan:
    """`before_planning`: what is done to the loaded manifests before the plan is made."""
    case = _read(case_dir / "case.json", {})
    loaded = load([case_dir / "manifests"], cwd=case_dir)
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    if before_planning is not None:
        before_planning(loaded.manifests)
    state = _read(case_dir / "state.json")
    records = {r["address"]: ResourceRecord.from_dict(r) for r in state["records"]}
    observations = _observations(_read(case_dir / "observations.json", {}))
    now = float(case["now"])
    refreshed = case.get("refreshed", True)
    if refreshed:
        records = observe(records, observations, now)  # what refresh folds in before planning
    return make_plan(
        PlanInputs(
            manifests=loaded.manifests,
            records=records,
            meta=StateMeta.from_dict(state["meta"]),
            observations=observations if refreshed else {},
            discovered=_observations(_read(case_dir / "discovered.json", {})),
            now=now,
            refreshed=refreshed,
            operation=case.get("operation", "apply"),
            reconciler_version=GOLDEN_VERSION,
            created_at=iso_utc(now),
            manifest_paths=["manifests"],
            state_path="manifests/.reconciler/state.db",
            undeletable=undeletable_kinds(loaded.manifests.providers),  # as the workspace hands it over
            economics=provider_economics(loaded.manifests.providers),
        )
    )


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES)
def test_golden_plan(case: str, update_golden: bool) -> None:
    case_dir = HERE / case
    plan = build_plan(case_dir)
    # Local dataset paths in the plan are absolute (apply reads the files); golden files must not
    # depend on where the repository is checked out.
    rendered = {name: render(plan).replace(str(case_dir), "$CASE_DIR") for name, render in OUTPUTS.items()}
    if update_golden:
        for name, text in rendered.items():
            (case_dir / name).write_text(text)
    for name, text in rendered.items():
        expected = case_dir / name
        assert expected.exists(), f"{expected} is missing; run `pytest tests/golden --update-golden`"
        assert text == expected.read_text(), (
            f"{case}/{name} differs from the golden file; if the change is intended, run "
            "`pytest tests/golden --update-golden` and review the diff"
        )


@pytest.mark.parametrize("case", CASES)
def test_golden_facts(case: str) -> None:
    """What each case is about, asserted directly, so a regenerated golden file cannot hide a regression."""
    case_dir = HERE / case
    expect = _read(case_dir / "case.json", {}).get("expect", {})
    plan = build_plan(case_dir)
    if "has_changes" in expect:
        assert plan.has_changes is expect["has_changes"]
    assert len(plan.errors) == expect.get("errors", 0), plan.errors
    summary = plan.summary().model_dump()
    for key, count in expect.get("summary", {}).items():
        assert summary[key] == count, (key, summary)
    assert plan_from_json(plan_to_json(plan)) == plan
    assert "\x1b[" not in plan_to_text(plan)


@pytest.mark.parametrize("case", CASES)
def test_plain_text_without_rich_is_the_golden_text(case: str) -> None:
    """What `reconciler plan` writes to a pipe (built without rich) is byte for byte `plan.txt`."""
    import io

    from reconciler.render.text import plan_lines, styled_lines, write_plan

    case_dir = HERE / case
    plan = build_plan(case_dir)
    out = io.StringIO()
    write_plan(out, plan)
    assert out.getvalue().replace(str(case_dir), "$CASE_DIR") == (case_dir / "plan.txt").read_text()
    # and a terminal gets the same styled text from rich as it did when rich built every line
    rich_lines = plan_lines(plan)
    assert [t.plain for t in rich_lines] == [line.plain for line in styled_lines(plan)]
