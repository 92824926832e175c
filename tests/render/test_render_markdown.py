"""The pull-request comment: summary first, details collapsible, never over the size limit."""

from __future__ import annotations

import re

from render_plans import action, big_plan, mixed_plan

from reconciler.models.plans import ActionType, Plan
from reconciler.render import plan_to_markdown


def test_summary_table_comes_first_then_changes_then_details() -> None:
    md = plan_to_markdown(mixed_plan())
    summary = md.index("| Action | Count |")
    changes = md.index("#### Changes")
    details = md.index("#### Details")
    assert summary < changes < details
    assert "| `-/+` replace | 3 |" in md
    assert "| retrains | 1 |" in md
    assert "| drift (changed outside reconciler) | 1 |" in md
    assert md.count("<details>") == md.count("</details>") == 6  # every shown action
    assert "retrain: 1,200 training steps, about 8.0 GPU-hours (estimate)" in md
    assert "[!CAUTION]" in md and "`m/ft.yaml:14:5: FineTune/money-rain: lifecycle.prevent_destroy" in md
    assert "**drift:** changed outside reconciler" in md


def test_a_3000_action_plan_stays_under_the_limit_and_says_what_it_left_out() -> None:
    plan = big_plan(3000)
    md = plan_to_markdown(plan)
    assert len(md) <= 60_000
    rows = len(re.findall(r"^\| `-/\+` \| `FineTune/job-", md, flags=re.M))
    detailed = md.count("<details>")
    assert 0 < rows < 3000
    assert f"{3000 - rows:,} resources not listed in the table".replace(",", "") in md.replace(",", "")
    assert f"details of {3000 - detailed} resources omitted" in md
    assert md.index("| Action | Count |") < md.index("#### Changes")
    assert "| `-/+` replace | 3000 |" in md
    small = plan_to_markdown(plan, limit=5_000)
    assert len(small) <= 5_000 and "not listed in the table" in small


def test_a_plan_that_fits_has_no_truncation_note() -> None:
    md = plan_to_markdown(big_plan(20))
    assert md.count("<details>") == 20
    assert "[!NOTE]" not in md


def test_cells_are_escaped() -> None:
    a = action("Deployment/d", act=ActionType.UPDATE, reason="prompt 'a | b' → '<script>'\nsecond line")
    md = plan_to_markdown(Plan(reconciler_version="0", created_at="", actions=[a]))
    row = next(line for line in md.splitlines() if line.startswith("| `~` |"))
    assert "a \\| b" in row and "&lt;script&gt;" in row and "second line" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 6  # five cells, no stray pipe


def test_no_changes() -> None:
    md = plan_to_markdown(Plan(reconciler_version="0", created_at=""))
    assert "**No changes. The providers match the manifests.**" in md
    assert "#### Changes" not in md
