"""The apply summary: exactly what succeeded, failed (and why), was skipped, or deferred."""

from __future__ import annotations

import io

from reconciler.engine.outcomes import ApplyResult, Outcome, ResourceOutcome
from reconciler.render import make_console, print_apply_result


def render(result: ApplyResult) -> str:
    buffer = io.StringIO()
    print_apply_result(make_console(buffer, no_color=True), result)
    return buffer.getvalue()


def outcomes(*items: ResourceOutcome) -> ApplyResult:
    return ApplyResult(outcomes={o.address: o for o in items})


def test_groups_and_counts_after_a_failure() -> None:
    text = render(
        outcomes(
            ResourceOutcome(
                "Dataset/train", "create", Outcome.SUCCEEDED, "processed", remote_id="file-1", elapsed=3.2
            ),
            ResourceOutcome(
                "FineTune/ft", "replace", Outcome.FAILED, "job ft-2 FAILED: bad data", elapsed=7980
            ),
            ResourceOutcome("CheckpointExport/c", "create", Outcome.SKIPPED, "FineTune/ft did not succeed"),
            ResourceOutcome("Deployment/d", "create", Outcome.SKIPPED, "FineTune/ft did not succeed"),
        )
    )
    assert "Succeeded (1):\n    + Dataset/train  create  file-1  (3s)\n" in text
    assert "Failed (1):\n  -/+ FineTune/ft  replace  (2h13m): job ft-2 FAILED: bad data\n" in text
    assert "    + CheckpointExport/c  create: FineTune/ft did not succeed" in text
    assert text.index("Succeeded") < text.index("Failed") < text.index("Skipped (2):")
    assert text.rstrip().endswith("Apply failed: 1 succeeded, 1 failed, 2 skipped (4 resources).")


def test_no_wait_and_interruption() -> None:
    result = outcomes(
        ResourceOutcome("FineTune/ft", "create", Outcome.SUBMITTED, "RUNNING; not waiting (--no-wait)"),
        ResourceOutcome("Deployment/d", "create", Outcome.DEFERRED, "waiting for FineTune/ft"),
    )
    text = render(result)
    assert "Submitted, not waited for (--no-wait)" in text and "Deferred: waiting on a dependency" in text
    assert text.rstrip().endswith(
        "Apply complete: 0 succeeded, 0 failed, 0 skipped, 1 submitted, 1 deferred (2 resources)."
    )
    result.interrupted = True
    text = render(result)
    assert "Interrupted: resources not started were skipped" in text
    assert "Apply interrupted:" in text


def test_nothing_to_do() -> None:
    assert render(ApplyResult()).strip() == "Apply complete: nothing to do."
