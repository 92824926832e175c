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


class Threads(Pending):
    """Records which thread made each call."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.threads: set[str] = set()

    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        self.threads.add(threading.current_thread().name)
        return super().create(desired, claimed)

    def read(self, record: ResourceRecord) -> Observation:
        self.threads.add(threading.current_thread().name)
        return super().read(record)


def test_a_serial_providers_steps_and_polls_all_run_on_one_thread() -> None:
    """No worker per step and no thread per wait: the serial loop's one thread does it all."""
    local = Threads("local")
    result = Executor(
        SqliteStateStore.in_memory(),
        {"local": local},
        FakeClock(),
        options=ApplyOptions(parallelism=6, serial_providers=frozenset({"local"})),
    ).apply(
        Plan(reconciler_version="t", created_at="t", actions=[_action("local", str(i)) for i in range(8)])
    )
    assert {o.outcome for o in result.outcomes.values()} == {Outcome.SUCCEEDED}
    assert local.threads == {"apply-serial"}


class Slow(Counting):
    """A job that is ready only 10 (fake) seconds after its create; logs creates and settles."""

    def __init__(self, name: str, clock: FakeClock, log: list[str]) -> None:
        super().__init__(name)
        self.clock, self.log, self.created = clock, log, {}

    def create(self, desired: Desired, claimed: set[str] | None = None) -> Observation:
        self.log.append(f"create {desired.name}")
        self.created[f"id-{desired.name}"] = self.clock.now()
        return Observation(remote_id=f"id-{desired.name}", phase=Phase.PENDING, status="PENDING")

    def read(self, record: ResourceRecord) -> Observation:
        if self.clock.now() - self.created[record.remote_id or ""] < 10:
            return Observation(remote_id=record.remote_id or "", phase=Phase.PENDING, status="PENDING")
        self.log.append(f"ready {record.name}")
        return Observation(remote_id=record.remote_id or "", phase=Phase.READY, status="READY")


def test_a_serial_providers_wait_does_not_hold_up_its_next_steps() -> None:
    clock, log = FakeClock(), []
    local = Slow("local", clock, log)
    result = Executor(
        SqliteStateStore.in_memory(),
        {"local": local},
        clock,
        options=ApplyOptions(serial_providers=frozenset({"local"})),
    ).apply(
        Plan(reconciler_version="t", created_at="t", actions=[_action("local", str(i)) for i in range(3)])
    )
    assert {o.outcome for o in result.outcomes.values()} == {Outcome.SUCCEEDED}
    assert log[:3] == ["create local-0", "create local-1", "create local-2"]  # all submitted first
    assert sorted(log[3:]) == ["ready local-0", "ready local-1", "ready local-2"]
    assert clock.now() - 1_767_225_600.0 < 20  # the three waits overlapped (one alone takes 10 s)


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
