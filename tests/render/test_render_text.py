"""The human plan: wording, sections, summary, errors, and colour only where it belongs."""

from __future__ import annotations

import io

import pytest
from render_plans import action, big_plan, mixed_plan, retrain

from reconciler.models.changes import ChangeClass
from reconciler.models.plans import ActionType, Plan
from reconciler.render import make_console, plan_to_text, print_plan
from reconciler.render.describing import diagnostic_text, format_value, name_list, summary_line

ANSI = "\x1b["


def render(plan: Plan, **console_args: object) -> str:
    buffer = io.StringIO()
    print_plan(make_console(buffer, **console_args), plan)  # type: ignore[arg-type]
    return buffer.getvalue()


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_text_has_no_escapes_and_colour_text_has_them() -> None:
    plain = render(mixed_plan(), no_color=True)
    coloured = render(mixed_plan(), no_color=False)
    assert ANSI not in plain
    assert ANSI in coloured
    assert "FineTune/money-rain" in coloured


def test_colour_follows_the_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = FakeTTY()
    print_plan(make_console(tty), mixed_plan())
    assert ANSI in tty.getvalue()
    assert ANSI not in render(mixed_plan())  # a StringIO is not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    tty = FakeTTY()
    print_plan(make_console(tty), mixed_plan())
    assert ANSI not in tty.getvalue()


def test_retrain_shows_cost_field_change_and_mode() -> None:
    text = plan_to_text(Plan(reconciler_version="0", created_at="", actions=[retrain()]))
    assert "-/+ FineTune/money-rain  replace [retrain]" in text
    assert "# hyper_parameters.learning_rate 2e-05 → 0.0001 forces retrain" in text
    assert "~ hyper_parameters.learning_rate: 2e-05 → 0.0001  [retrain]" in text
    assert "retrain: 1,200 training steps, about 8.0 GPU-hours (estimate)" in text
    assert "create-before-destroy" in text
    assert "remote id: ft-1" in text
    assert text.rstrip().endswith(
        "Plan: 0 to create, 0 to update, 1 to replace (1 retrain), 0 to delete, 0 to cancel."
    )


def test_sections_separate_drift_from_manifest_changes() -> None:
    text = render(mixed_plan())
    drift = text.index("Changes outside reconciler (drift):")
    manifest = text.index("Changes from your manifests:")
    adopt = text.index("Found on the provider")
    assert drift < text.index("Deployment/money-rain") < manifest < text.index("FineTune/money-rain") < adopt
    assert "~ capacity: 1 → 2  (changed outside reconciler)" in text
    assert "Dataset/kept" not in text  # a plain no-op is not shown


def test_dataset_files_are_capped_and_destroy_before_create_explained() -> None:
    text = render(mixed_plan())
    assert (
        "files modified: data.jsonl; added: image_11.png, image_12.png, image_13.png, image_14.png, "
        "image_15.png and 2 more" in text
    )
    assert "~ (content): sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb…  [retrain]" in text
    assert "destroy-before-create: the deployed model name cannot exist twice" in text
    assert "running for 2h13m" in text


def test_errors_are_printed_in_the_standard_format() -> None:
    text = render(mixed_plan())
    assert "Error: 1 error; this plan cannot be applied:" in text
    assert "  m/ft.yaml:14:5: FineTune/money-rain: lifecycle.prevent_destroy: would replace it" in text
    assert diagnostic_text({"address": "FineTune/x", "message": "boom"}) == "FineTune/x: boom"


def test_summary_line_counts_and_no_changes() -> None:
    assert summary_line(mixed_plan()) == (
        "Plan incomplete: 1 error, so it cannot be applied. "
        "Plan: 0 to create, 1 to update, 3 to replace (1 retrain), 0 to delete, 1 to cancel, 1 to adopt."
    )
    failed_refresh = Plan(
        reconciler_version="0",
        created_at="",
        errors=[{"message": "refresh failed for provider 'dashscope': HTTP 500"}],
    )
    assert (
        summary_line(failed_refresh)
        == "Plan incomplete: 1 error, so it cannot be applied; no changes could be determined."
    )
    assert "No changes" not in plan_to_text(failed_refresh)
    empty = Plan(reconciler_version="0", created_at="")
    assert summary_line(empty) == "No changes. The providers match the manifests."
    adopt_only = Plan(
        reconciler_version="0",
        created_at="",
        actions=[action("Dataset/a", act=ActionType.ADOPT), action("Dataset/b", act=ActionType.NOOP)],
    )
    text = plan_to_text(adopt_only)
    assert "No changes. The providers match the manifests." in text
    assert "1 resource found on the provider will be adopted into state (no provider calls)." in text
    create = Plan(
        reconciler_version="0",
        created_at="",
        actions=[
            action(act=ActionType.CREATE, change_class=ChangeClass.RETRAIN),
            action("Dataset/d", act=ActionType.FORGET),
        ],
    )
    assert summary_line(create) == (
        "Plan: 1 to create (1 training job), 0 to update, 0 to replace, "
        "0 to delete, 0 to cancel, 1 to forget."
    )


def test_creates_list_fields_but_not_unset_ones() -> None:
    from reconciler.models.plans import FieldChange

    a = action(
        "Deployment/d",
        act=ActionType.CREATE,
        change_class=ChangeClass.REDEPLOY,
        changes=[
            FieldChange(path="aigc_config.prompt", after="a\nb", change_class=ChangeClass.REDEPLOY),
            FieldChange(path="suffix", after=None, change_class=ChangeClass.REDEPLOY),
        ],
    )
    text = plan_to_text(Plan(reconciler_version="0", created_at="", actions=[a]))
    assert '+ aigc_config.prompt = "a\\nb"' in text
    assert "suffix" not in text


def test_values_are_json_like_and_cut() -> None:
    assert format_value("x") == '"x"'
    assert format_value({"a": [1, 2]}) == '{"a": [1, 2]}'
    assert format_value(None) == "(none)"
    assert format_value(True) == "true"
    long = format_value("y" * 200)
    assert len(long) == 72 and long.endswith("…")
    assert name_list(["a", "b"]) == "a, b"
    assert name_list([str(i) for i in range(8)], shown=3) == "0, 1, 2 and 5 more"


def test_long_lines_are_not_rewrapped() -> None:
    a = retrain()
    a.reason = "word " * 60
    text = plan_to_text(Plan(reconciler_version="0", created_at="", actions=[a]), width=40)
    assert ("# " + "word " * 60).rstrip() in text


class _CountingWrites(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_a_plan_written_to_a_pipe_in_pieces_is_what_print_plan_writes() -> None:
    """`write_plan` writes a plain plan a few thousand lines at a time (no one string of all of it):
    the bytes must be exactly rich's plain text, joins between the pieces included."""
    from reconciler.render.text import _WRITE_LINES, styled_lines, write_plan

    plan = big_plan(1200)  # several pieces, the last one short
    lines = len(styled_lines(plan))
    assert lines > 2 * _WRITE_LINES and lines % _WRITE_LINES
    out = _CountingWrites()
    write_plan(out, plan)
    assert out.getvalue() == render(plan, no_color=True)
    assert out.writes == -(-lines // _WRITE_LINES)


def test_a_plan_with_a_tab_written_to_a_pipe_goes_through_rich() -> None:
    """Rich expands tabs; the plain shortcut does not, so a plan with a tab anywhere (here in the
    last action) is printed by rich, as `print_plan` prints it."""
    from reconciler.render.text import styled_lines, write_plan

    plan = big_plan(3)
    plan.actions[-1].reason = "a\treason"
    out = io.StringIO()
    write_plan(out, plan)
    assert out.getvalue() == render(plan, no_color=True)
    assert "\t" not in out.getvalue()
    assert out.getvalue() != "\n".join(line.plain for line in styled_lines(plan)) + "\n"
