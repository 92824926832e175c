"""A refresh computes the resources' identity hashes only when it has something to discover.

The planner needs every hash, and computes them (once per workspace); a refresh needs them only to
look for desired resources that have no state (their fingerprints). So a no-change plan's refresh
reads the providers without hashing the manifests first, and a plan with a resource missing from
the state still discovers it by its hash.
"""

from __future__ import annotations

from reconciler.models.plans import ActionType
from reconciler.workspace import Workspace


def _count_hashing(ws: Workspace) -> list[int]:
    calls = [0]
    original = ws.spec_hashes

    def counted() -> dict[str, str]:
        calls[0] += 1
        return original()

    ws.spec_hashes = counted  # type: ignore[method-assign]
    return calls


def _refreshed(ws: Workspace) -> None:
    store = ws.open_state(readonly=True)
    try:
        result = ws._refresh(store, store.all(), frozenset())
    finally:
        store.close()
    assert result.observations and not result.diagnostics


def test_nothing_to_discover_no_hashes_and_the_plan_still_has_them(make_env) -> None:
    env = make_env()
    env.workspace().apply()
    ws = env.workspace()
    calls = _count_hashing(ws)
    _refreshed(ws)
    assert calls == [0]  # every declared resource has state: nothing to discover
    plan = ws.plan()
    assert calls[0] >= 1 and all(a.action is ActionType.NOOP for a in plan.actions)


def test_a_resource_without_state_is_discovered_by_its_hash(make_env) -> None:
    env = make_env()
    env.workspace().apply()
    ws = env.workspace()
    store = ws.open_state(readonly=False)
    try:
        # the state forgot it; the provider still has the file
        store.remove("Dataset/money-rain-train", event="test")
    finally:
        store.close()
    ws = env.workspace()
    calls = _count_hashing(ws)
    plan = ws.plan()
    assert calls[0] >= 1
    adopted = [a for a in plan.actions if a.address == "Dataset/money-rain-train"]
    assert adopted and adopted[0].action is ActionType.ADOPT, [(a.address, a.action) for a in plan.actions]
