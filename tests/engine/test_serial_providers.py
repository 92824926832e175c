"""`ApplyOptions.serial_providers`: the steps of an in-process provider (the embedded sandbox) run
one at a time; other providers' steps still use all the workers, and waits still overlap."""

from __future__ import annotations

import threading
import time
from typing import Any

from reconciler.clock import FakeClock
from reconciler.engine.applying import ApplyOptions, Executor
from reconciler.engine.outcomes import Outcome
from reconciler.models.plans import Action, ActionType, Plan
from reconciler.models.state import ResourceRecord
from reconciler.providers.interface import Desired, Observation, Phase
from reconciler.state.sqlite import SqliteStateStore


class Counting:
    """Records the most creates that were ever in flight at once."""

    def __init__(self, name: str) -> None:
        self.name = self.type = name
        self._lock = threading.Lock()
        self.inside = 0
        self.most = 0

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return {"name": desired.name}

    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.02)  # real time: long enough for parallel workers to overlap
        with self._lock:
            self.inside -= 1
        return Observation(remote_id=f"id-{desired.name}", phase=Phase.READY, status="READY")

    def read(self, record: ResourceRecord) -> Observation:
        return Observation(remote_id=record.remote_id or "", phase=Phase.READY, status="READY")


def _action(provider: str, name: str) -> Action:
    return Action(
        address=f"Dataset/{provider}-{name}",
        kind="Dataset",
        name=f"{provider}-{name}",
        provider=provider,
        provider_type=provider,
        action=ActionType.CREATE,
        desired={"n": name},
        spec_hash=name,
    )


def test_a_serial_provider_runs_one_step_at_a_time_and_the_others_in_parallel() -> None:
    local, remote = Counting("local"), Counting("remote")
    actions = [_action(p, str(i)) for i in range(6) for p in ("local", "remote")]
    result = Executor(
        SqliteStateStore.in_memory(),
        {"local": local, "remote": remote},
        FakeClock(),
        options=ApplyOptions(parallelism=6, serial_providers=frozenset({"local"})),
    ).apply(Plan(reconciler_version="t", created_at="t", actions=actions))
    assert {o.outcome for o in result.outcomes.values()} == {Outcome.SUCCEEDED}
    assert len(result.outcomes) == 12
    assert local.most == 1
    assert remote.most > 1


def test_without_the_option_every_provider_uses_the_workers() -> None:
    local = Counting("local")
    Executor(
        SqliteStateStore.in_memory(),
        {"local": local},
        FakeClock(),
        options=ApplyOptions(parallelism=6),
    ).apply(
        Plan(reconciler_version="t", created_at="t", actions=[_action("local", str(i)) for i in range(6)])
    )
    assert local.most > 1


class Pending(Counting):
    """Creates answer PENDING, so every step is followed by a wait that polls `read`."""

    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        super().create(desired, claimed)
        return Observation(remote_id=f"id-{desired.name}", phase=Phase.PENDING, status="PENDING")

    def read(self, record: ResourceRecord) -> Observation:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.01)
        with self._lock:
            self.inside -= 1
        return Observation(remote_id=record.remote_id or "", phase=Phase.READY, status="READY")


def test_the_waits_of_a_serial_provider_poll_between_its_steps_not_beside_them() -> None:
    local = Pending("local")
    result = Executor(
        SqliteStateStore.in_memory(),
        {"local": local},
        FakeClock(),
        options=ApplyOptions(parallelism=6, serial_providers=frozenset({"local"})),
    ).apply(
        Plan(reconciler_version="t", created_at="t", actions=[_action("local", str(i)) for i in range(8)])
    )
    assert {o.outcome for o in result.outcomes.values()} == {Outcome.SUCCEEDED}
    assert local.most == 1


def test_a_sleeping_holder_lets_go_of_the_baton() -> None:
    from reconciler.engine.waiting import Baton

    baton, entered = Baton(), threading.Event()

    def other() -> None:
        with baton.held():
            entered.set()

    with baton.held(), baton.held():  # held twice (re-entrant), let go of entirely while asleep
        with baton.let_go():
            t = threading.Thread(target=other)
            t.start()
            assert entered.wait(5)
            t.join(5)
        blocked = threading.Thread(target=other)
        entered.clear()
        blocked.start()
        assert not entered.wait(0.05)  # held again after the sleep
    blocked.join(5)
    assert entered.is_set()
    with baton.let_go():  # a thread that does not hold it: nothing to let go of
        pass


class _Ids:
    """A progress sink that shows remote ids: records the id each finished step reported."""

    wants_ids = True

    def __init__(self) -> None:
        self.ids: dict[str, str | None] = {}

    def started(self, address: str, action: str) -> None:
        pass

    def waiting(self, *args: Any, **kwargs: Any) -> None:
        pass

    def finished(self, outcome: Any) -> None:
        self.ids[outcome.address] = outcome.remote_id


def test_finished_steps_report_the_remote_id_now_in_state() -> None:
    """The id is remembered from this run's own writes, not read back: created ids, and no id for
    a resource this run removed (whatever an earlier write had said)."""
    store = SqliteStateStore.in_memory()
    old = ResourceRecord(
        address="Dataset/local-old", kind="Dataset", name="local-old", provider="local",
        provider_type="local", remote_id="id-old", spec={}, spec_hash="x",
    )  # fmt: skip
    store.put(old, event="created")
    forget = Action(
        address="Dataset/local-old",
        kind="Dataset",
        name="local-old",
        provider="local",
        provider_type="local",
        action=ActionType.FORGET,
        prior=old.to_dict(),
    )
    sink = _Ids()
    Executor(store, {"local": Counting("local")}, FakeClock(), progress=sink).apply(
        Plan(reconciler_version="t", created_at="t", actions=[_action("local", "1"), forget])
    )
    assert sink.ids == {"Dataset/local-1": "id-local-1", "Dataset/local-old": None}
    created = store.get("Dataset/local-1")
    assert created is not None and created.remote_id == "id-local-1"
