"""What a wait writes to the state: every status change a poll sees, and the settling poll once.

The poll that settles a resource is followed at once (same thread, nothing sent in between) by the
"settled" write, which holds everything that poll saw; writing it as a "status" change too cost a
second transaction and a second encoding of the whole record for every waited resource.
"""

from __future__ import annotations

from typing import Any

from reconciler.clock import FakeClock
from reconciler.engine.applying import ApplyOptions, Executor
from reconciler.engine.outcomes import Outcome
from reconciler.models.plans import Action, ActionType, Plan
from reconciler.models.state import ResourceRecord
from reconciler.providers.interface import Desired, Observation, Phase
from reconciler.state.sqlite import SqliteStateStore


class Stepping:
    """A job that is PENDING when created, then reads as each of `reads` in turn."""

    name = type = "fake"

    def __init__(self, reads: list[tuple[Phase, str]]) -> None:
        self._reads = list(reads)

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return {"name": desired.name}

    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        return Observation(remote_id="job-1", phase=Phase.PENDING, status="PENDING", outputs={"n": 0})

    def read(self, record: ResourceRecord) -> Observation:
        phase, status = self._reads.pop(0)
        return Observation(remote_id="job-1", phase=phase, status=status, outputs={"last": status})


def _apply(reads: list[tuple[Phase, str]]) -> tuple[SqliteStateStore, Outcome]:
    store = SqliteStateStore.in_memory()
    action = Action(
        address="FineTune/ft",
        kind="FineTune",
        name="ft",
        provider="fake",
        provider_type="fake",
        action=ActionType.CREATE,
        desired={"n": 1},
        spec_hash="h",
    )
    result = Executor(store, {"fake": Stepping(reads)}, FakeClock(), options=ApplyOptions()).apply(
        Plan(reconciler_version="t", created_at="t", actions=[action])
    )
    return store, result.outcomes["FineTune/ft"].outcome


def test_each_status_change_is_written_and_the_settling_poll_once() -> None:
    store, outcome = _apply(
        [(Phase.PENDING, "PENDING"), (Phase.PENDING, "RUNNING"), (Phase.READY, "SUCCEEDED")]
    )
    assert outcome is Outcome.SUCCEEDED
    events = [(e.event, e.detail) for e in store.events("FineTune/ft")]
    assert events == [
        ("created", {"remote_id": "job-1"}),
        ("status", {"status": "RUNNING"}),
        ("settled", {"status": "SUCCEEDED"}),
    ]
    record = store.get("FineTune/ft")
    assert record is not None
    assert record.status == "SUCCEEDED" and record.outputs["last"] == "SUCCEEDED"


def test_a_job_that_fails_on_its_first_poll_is_recorded_failed() -> None:
    store, outcome = _apply([(Phase.FAILED, "FAILED")])
    assert outcome is Outcome.FAILED
    assert [e.event for e in store.events("FineTune/ft")] == ["created", "settled"]
    record = store.get("FineTune/ft")
    assert record is not None and record.status == "FAILED"
