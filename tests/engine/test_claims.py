"""Every create is told every remote id already owned, without a copy of them all per create.

`engine/claims.py`: the executor hands providers one growing read-only view. What must hold is
what the copies gave: a create sees every id the state owned before the apply and every id this
apply's earlier steps claimed, so a create answered "it exists" never takes another resource's
object; and the view cannot be written by a provider.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Set as AbstractSet
from typing import Any

import pytest

from reconciler.clock import FakeClock
from reconciler.engine.applying import ApplyOptions, Executor
from reconciler.engine.claims import Claims
from reconciler.engine.outcomes import Outcome
from reconciler.models.plans import Action, ActionType, Plan
from reconciler.models.state import ResourceRecord
from reconciler.providers.interface import Desired, Observation, Phase
from reconciler.state.sqlite import SqliteStateStore


@pytest.mark.parametrize("seed", range(5))
def test_the_view_answers_as_the_set_of_everything_claimed_so_far(seed: int) -> None:
    rng = random.Random(seed)
    start = {f"id-{i}" for i in rng.sample(range(50), 10)}
    claims, model = Claims(start), set(start)
    for _ in range(300):
        ident = f"id-{rng.randrange(60)}"
        if rng.random() < 0.4:
            claims.add(ident)
            model.add(ident)
        assert (ident in claims) == (ident in model)
        assert len(claims) == len(model)
    assert set(claims) == model and claims == model  # a Set: compares, iterates, copies as one
    assert not hasattr(claims, "discard") and not hasattr(claims, "update")


def test_iterating_walks_a_snapshot_while_another_thread_claims() -> None:
    claims = Claims(f"a-{i}" for i in range(1000))
    done = threading.Event()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the threads change hands between every few bytecodes
    try:
        _iterate_while_claiming(claims, done)
    finally:
        sys.setswitchinterval(interval)
    assert len(claims) == 21_000


def _iterate_while_claiming(claims: Claims, done: threading.Event) -> None:

    def claim() -> None:
        for i in range(20_000):
            claims.add(f"b-{i}")
        done.set()

    worker = threading.Thread(target=claim)
    worker.start()
    sizes = []
    while not done.is_set():
        seen = list(claims)  # a set changing size under its iterator would raise RuntimeError
        sizes.append(len(seen))
    worker.join()
    assert sizes == sorted(sizes)


class Recording:
    """At each create: which of the ids that must be owned by then the provider was not told."""

    def __init__(self) -> None:
        self.name = self.type = "p"
        self.made: list[str] = []
        self.expected: set[str] = set()
        self.missed: list[set[str]] = []
        self.kinds: set[type] = set()
        self._lock = threading.Lock()

    def fingerprint(self, desired: Desired) -> dict[str, Any]:
        return {"name": desired.name}

    def create(self, desired: Desired, claimed: AbstractSet[str] | None = None) -> Observation:
        assert claimed is not None
        with self._lock:
            self.kinds.add(type(claimed))
            self.missed.append({i for i in self.expected | set(self.made) if i not in claimed})
            remote_id = f"id-{desired.name}"
            self.made.append(remote_id)
        return Observation(remote_id=remote_id, phase=Phase.READY, status="READY")

    def read(self, record: ResourceRecord) -> Observation:
        return Observation(remote_id=record.remote_id or "", phase=Phase.READY, status="READY")


def _plan(names: list[str]) -> Plan:
    actions = [
        Action(
            address=f"Dataset/{n}",
            kind="Dataset",
            name=n,
            provider="p",
            provider_type="p",
            action=ActionType.CREATE,
            desired={"n": n},
            spec_hash=n,
        )
        for n in names
    ]
    return Plan(reconciler_version="t", created_at="t", actions=actions)


@pytest.mark.parametrize("serial", [True, False])
def test_each_create_is_told_every_id_the_state_and_this_apply_already_own(serial: bool) -> None:
    store, provider = SqliteStateStore.in_memory(), Recording()
    options = ApplyOptions(
        parallelism=1 if serial else 4, serial_providers=frozenset({"p"} if serial else ())
    )

    def apply(names: list[str]) -> None:
        result = Executor(store, {"p": provider}, FakeClock(), options=options).apply(_plan(names))
        assert {o.outcome for o in result.outcomes.values()} == {Outcome.SUCCEEDED}

    apply([f"first-{i}" for i in range(5)])
    provider.expected, provider.made, provider.missed = set(provider.made), [], []
    assert provider.expected == {r.remote_id for r in store.all().values()}
    apply([f"second-{i}" for i in range(20)])
    # parallel workers may create side by side: what one is told is at least what had been
    # claimed when it started, which `made` (appended as each returns) can run ahead of by one
    # create per other worker; with one worker every earlier create must be there
    allowed = 0 if serial else options.parallelism - 1
    assert all(not m & provider.expected for m in provider.missed)
    assert all(len(m) <= allowed for m in provider.missed), provider.missed
    assert provider.kinds == {Claims}  # the view itself, never a copy of it
