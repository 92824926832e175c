"""The executor's scheduling: waits never hold a worker; failures stop only their dependents."""

from __future__ import annotations

import threading
from typing import Any

from reconciler.clock import FakeClock
from reconciler.engine.applying import ApplyOptions, Executor
from reconciler.engine.outcomes import Outcome
from reconciler.models.plans import Action, ActionType, Plan
from reconciler.models.state import ResourceRecord
from reconciler.providers.errors import InvalidRequestError
from reconciler.providers.interface import Desired, Observation, Phase
from reconciler.state.sqlite import SqliteStateStore


class Fake:
    """A behavioural fake provider: `slow` stays PENDING until `release` is set; `bad` is refused."""

    name, type = "fake", "fake"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.created: list[str] = []

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return {"name": desired.name}

    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        if desired.name == "bad":
            raise InvalidRequestError("refused", provider="fake", operation="create")
        self.created.append(desired.name)
        if desired.name.endswith("fast"):
            self.release.set()
        phase = Phase.PENDING if desired.name.endswith("slow") else Phase.READY
        return Observation(
            remote_id=f"id-{desired.name}", phase=phase, status=phase.value, outputs={"id": desired.name}
        )

    def read(self, record: ResourceRecord) -> Observation:
        ok = not record.name.endswith("slow") or self.release.wait(timeout=10)
        phase = Phase.READY if ok else Phase.PENDING
        return Observation(remote_id=record.remote_id or "", phase=phase, status=phase.value)


def action(name: str, depends_on: list[str] | None = None) -> Action:
    return Action(
        address=f"Dataset/{name}",
        kind="Dataset",
        name=name,
        provider="fake",
        provider_type="fake",
        action=ActionType.CREATE,
        desired={"n": name},
        spec_hash=name,
        depends_on=depends_on or [],
    )


def run(actions: list[Action], parallelism: int = 1):
    store = SqliteStateStore.in_memory()
    fake = Fake()
    plan = Plan(reconciler_version="t", created_at="t", actions=actions)
    result = Executor(
        store, {"fake": fake}, FakeClock(), options=ApplyOptions(parallelism=parallelism)
    ).apply(plan)
    return result, fake, store


def test_a_long_wait_does_not_hold_the_only_worker():
    # with one worker, `slow` waits until `fast` has been created: if waiting held the worker, this would hang
    result, fake, _ = run([action("a-slow"), action("b-fast")], parallelism=1)
    assert fake.created == ["a-slow", "b-fast"]
    assert {a: o.outcome for a, o in result.outcomes.items()} == {
        "Dataset/a-slow": Outcome.SUCCEEDED,
        "Dataset/b-fast": Outcome.SUCCEEDED,
    }


def test_a_failure_skips_only_its_dependents():
    result, fake, store = run(
        [
            action("bad"),
            action("child", ["Dataset/bad"]),
            action("grandchild", ["Dataset/child"]),
            action("fast"),
        ]
    )
    outcomes = {a: o.outcome for a, o in result.outcomes.items()}
    assert outcomes == {
        "Dataset/bad": Outcome.FAILED,
        "Dataset/child": Outcome.SKIPPED,
        "Dataset/grandchild": Outcome.SKIPPED,
        "Dataset/fast": Outcome.SUCCEEDED,
    }
    assert result.exit_code == 1
    assert set(store.all()) == {"Dataset/fast"}
    # the refused create's journal row was closed as failed
    assert [e.status for e in store.journal_entries("Dataset/bad")] == ["failed"]
