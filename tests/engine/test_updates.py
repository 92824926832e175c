"""An in-place update is sent to the provider, journaled, and recorded (class `update`).

Against the sandbox no Wan deployment can be updated in place (Wan LoRA deploys with plan lora,
whose capacity DashScope ignores), so this drives the executor with a behavioural fake provider.
"""

from __future__ import annotations

from typing import Any

from reconciler.clock import FakeClock
from reconciler.engine.applying import Executor
from reconciler.models.changes import ChangeClass
from reconciler.models.plans import Action, ActionType, Plan
from reconciler.models.state import ResourceRecord
from reconciler.providers.interface import Desired, Observation, Phase
from reconciler.state.sqlite import SqliteStateStore


class Scalable:
    name, type = "fake", "fake"

    def __init__(self) -> None:
        self.capacity = 1
        self.updates: list[dict[str, Any]] = []

    def update(self, desired: Desired, record: ResourceRecord) -> Observation:
        self.updates.append(dict(desired.spec))
        self.capacity = int(desired.spec["capacity"])
        return self.read(record)

    def read(self, record: ResourceRecord) -> Observation:
        return Observation(
            remote_id=record.remote_id or "",
            phase=Phase.READY,
            status="RUNNING",
            live_fields={"capacity": self.capacity},
        )


def test_an_update_action_calls_the_provider_once_and_records_the_new_spec():
    store = SqliteStateStore.in_memory()
    old = ResourceRecord(
        address="Deployment/d",
        kind="Deployment",
        name="d",
        provider="fake",
        provider_type="fake",
        remote_id="dm-1",
        spec={"capacity": 1},
        spec_hash="h1",
        status="RUNNING",
    )
    store.put(old, event="test")
    fake = Scalable()
    plan = Plan(
        reconciler_version="t",
        created_at="t",
        actions=[
            Action(
                address="Deployment/d",
                kind="Deployment",
                name="d",
                provider="fake",
                provider_type="fake",
                action=ActionType.UPDATE,
                change_class=ChangeClass.UPDATE,
                desired={"capacity": 3},
                spec_hash="h2",
                prior=old.to_dict(),
            )
        ],
    )
    result = Executor(store, {"fake": fake}, FakeClock()).apply(plan)
    assert result.ok
    assert fake.updates == [{"capacity": 3}] and fake.capacity == 3
    record = store.get("Deployment/d")
    assert record is not None and record.spec == {"capacity": 3} and record.spec_hash == "h2"
    # the update was journaled before its call, and closed with its outcome
    assert [(e.operation, e.status) for e in store.journal_entries("Deployment/d")] == [("update", "done")]
