"""Money and GPU-hours for every planned action, and the plan's total (pure).

The planner hands each action's work (kind, effective spec, training steps) to its provider's
`ProviderEconomics`, which says what the work is in billable units; the `PriceBook` says what a unit
costs (manifest override, then the provider's pricing endpoint, then the provider's table). This
module only multiplies and adds: it holds no price, model id or provider word. An unknown price
stays unknown — `money` None, with the reason and the manifest key that would set it.

Only actions that start new provider work are billable (create, replace). Deletes, cancels,
forgets, adopts and waits cost nothing new: what a running job spends was counted when it was
planned.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.models.costs import CostTotal, add_up, format_money, money_of
from reconciler.models.plans import Action, ActionType, Cost
from reconciler.providers.economics import Economics, Work

BILLABLE = frozenset({ActionType.CREATE, ActionType.REPLACE})


def price_actions(actions: list[Action], economics: Mapping[str, Economics]) -> CostTotal:
    """Fill each action's `cost` with money and GPU-hours; return the plan's total."""
    for action in actions:
        if action.action not in BILLABLE:
            action.cost = Cost(billable=False, money=0.0, note="no new provider work")
            continue
        action.cost = _priced(action, economics.get(action.provider))
    return total_of(actions)


def total_of(actions: list[Action]) -> CostTotal:
    lines = [
        (a.cost.money, a.cost.currency, a.cost.estimated_gpu_hours, a.cost.training_steps is not None)
        for a in actions
        if a.cost is not None and a.cost.billable
    ]
    return add_up(lines)


def _priced(action: Action, eco: Economics | None) -> Cost:
    cost = action.cost.model_copy() if action.cost is not None else Cost()
    if eco is None:
        cost.unknown = f"no price source for provider '{action.provider}'"
        return cost
    work = Work(kind=action.kind, spec=action.desired or {}, training_steps=cost.training_steps)
    quantities = eco.model.quantities(work)
    cost.quantities = {unit: round(amount, 6) for unit, amount in sorted(quantities.items())}
    if "gpu_hour" in quantities:
        cost.estimated_gpu_hours = round(quantities["gpu_hour"], 1)
    keys = eco.model.price_keys(work)
    price = eco.book.lookup(action.address, keys)
    if price is None:
        cost.unknown = (
            f"no known price for {keys[0]} on {action.provider_type}; "
            f"set spec.pricing.{keys[0]} in Provider/{action.provider} to price it"
        )
        return cost
    cost.price = price.describe()
    cost.price_source = price.source
    cost.currency = price.currency
    cost.money = money_of(price, quantities)
    if cost.money is None:
        cost.unknown = f"the price is per {price.per.replace('_', ' ')}, which this plan cannot estimate"
    return cost


def money_text(cost: Cost) -> str:
    """`$24.30` / `unknown` — never 0 for a price nobody knows."""
    if cost.money is None or cost.currency is None:
        return "unknown"
    return format_money(cost.money, cost.currency)


def used_money(
    eco: Economics | None, address: str, spec_keys: list[str], used: Mapping[str, float]
) -> float | None:
    """What the reported usage costs at the price the plan used (None when either is unknown)."""
    if eco is None or not used:
        return None
    return money_of(eco.book.lookup(address, spec_keys), used)
