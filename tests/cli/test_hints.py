"""A command the CLI suggests gets this run's `-f`/`--state`/`--workspace`, so it works when pasted."""

from __future__ import annotations

import pytest

from reconciler.cli.hints import command, complete

FLAGS = ["-f", "manifests/my set", "--state", "other.db"]


def test_a_suggested_command_gets_this_runs_manifest_flags() -> None:
    text = "nothing to move; run 'reconciler state rm Deployment/x' or 'reconciler import FineTune/y ft-1'"
    assert complete(text, FLAGS) == (
        "nothing to move; run 'reconciler state rm -f 'manifests/my set' --state other.db Deployment/x' "
        "or 'reconciler import -f 'manifests/my set' --state other.db FineTune/y ft-1'"
    )


def test_it_is_left_alone_when_it_names_its_own_or_takes_none() -> None:
    named = "run 'reconciler plan -f elsewhere --out p.json'"
    assert complete(named, FLAGS) == named
    for text in ("run 'reconciler schema'", "run 'reconciler sandbox serve'", "plain text", "'reconciler'"):
        assert complete(text, FLAGS) == text
    assert complete("run 'reconciler destroy'", []) == "run 'reconciler destroy'"  # outside a command


def test_a_hint_is_completed_once() -> None:
    once = complete("run 'reconciler destroy'", FLAGS)
    assert complete(once, FLAGS) == once


def test_a_printed_command_line_is_shell_quoted_with_the_flags_after_the_subcommand() -> None:
    assert command("apply", "my plan.json", flags=FLAGS) == (
        "reconciler apply -f 'manifests/my set' --state other.db 'my plan.json'"
    )
    assert command("state", "rm", "FineTune/x", flags=["-f", "m"]) == "reconciler state rm -f m FineTune/x"


def test_a_plans_reasons_and_warnings_are_completed_and_the_others_left_as_they_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`complete_plan_hints` assigns only the texts that changed: a suggested command still gets
    this run's flags in a reason and in a warning, and an action naming none keeps its own objects."""
    from reconciler.cli import hints, observing
    from reconciler.models.plans import Action, ActionType, Plan

    monkeypatch.setattr(hints, "invocation_flags", lambda: FLAGS)

    def action(name: str, reason: str, warnings: list[str]) -> Action:
        return Action(
            address=f"Dataset/{name}", kind="Dataset", name=name, provider="p",
            provider_type="dashscope", action=ActionType.NOOP, reason=reason, warnings=warnings,
        )  # fmt: skip

    hinted = action("a", "run 'reconciler destroy'", ["plain", "or 'reconciler import FineTune/y ft-1'"])
    plain = action("b", "unchanged", ["nothing to run"])
    plain_reason, plain_warnings = plain.reason, plain.warnings
    plan = Plan(reconciler_version="0", created_at="t", actions=[hinted, plain])
    observing.complete_plan_hints(plan)
    assert hinted.reason == complete("run 'reconciler destroy'", FLAGS) != "run 'reconciler destroy'"
    assert hinted.warnings == ["plain", complete("or 'reconciler import FineTune/y ft-1'", FLAGS)]
    assert plain.reason is plain_reason and plain.warnings is plain_warnings
