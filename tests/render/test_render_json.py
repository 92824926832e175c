"""The saved plan: versioned JSON that round-trips, and refuses what it cannot read with what to do."""

from __future__ import annotations

import json

import pytest
from render_plans import mixed_plan

from reconciler.models.plans import PLAN_FORMAT_VERSION
from reconciler.render import PlanFormatError, plan_from_json, plan_to_json


def test_round_trip_and_format_version_first() -> None:
    plan = mixed_plan()
    text = plan_to_json(plan)
    assert text.startswith('{\n  "format_version": "' + PLAN_FORMAT_VERSION + '"')
    assert text.endswith("}\n")
    assert plan_from_json(text) == plan
    assert plan_from_json(text.encode()) == plan
    assert plan_to_json(plan_from_json(text)) == text


def _with(**changes: object) -> str:
    data = json.loads(plan_to_json(mixed_plan()))
    data.update(changes)
    return json.dumps(data)


def test_refuses_another_major_version() -> None:
    with pytest.raises(
        PlanFormatError, match=r"format 2\.0, written by a newer reconciler.*upgrade reconciler"
    ):
        plan_from_json(_with(format_version="2.0"))
    with pytest.raises(
        PlanFormatError, match=r"format 0\.9, written by an older reconciler.*reconciler plan --out"
    ):
        plan_from_json(_with(format_version="0.9"))


def test_newer_minor_is_read_when_it_validates_and_explained_when_not() -> None:
    assert plan_from_json(_with(format_version="1.7")).format_version == "1.7"
    with pytest.raises(
        PlanFormatError, match=r"newer than this reconciler's .*new_field.*upgrade reconciler"
    ):
        plan_from_json(_with(format_version="1.7", new_field=1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "holds a JSON array"),
        ('{"resources": []}', "no format_version"),
        ('{"format_version": 1}', "is not MAJOR.MINOR"),
        ('{"format_version": "one"}', "is not MAJOR.MINOR"),
        ('{"format_version": "1.0", "actions": "x"}', "not a valid reconciler plan"),
    ],
)
def test_refuses_what_is_not_a_plan(text: str, message: str) -> None:
    with pytest.raises(PlanFormatError, match=message) as info:
        plan_from_json(text)
    assert "reconciler plan --out plan.json" in str(info.value)
