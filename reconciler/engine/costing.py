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

from reconciler.models.costs import CostTotal, Price, add_up, format_money, money_of
from reconciler.models.plans import Action, ActionType, Cost
from reconciler.providers.economics import Economics, Work

BILLABLE = frozenset({ActionType.CREATE, ActionType.REPLACE})


# a template, never handed out; not validated (its values are of their fields' types), so that
# importing this module builds no validator for `Cost`
_NO_NEW_WORK = Cost.model_construct(billable=False, money=0.0, note="no new provider work")


def price_actions(actions: list[Action], economics: Mapping[str, Economics]) -> CostTotal:
    """Fill each action's `cost` with money and GPU-hours; return the plan's total.

    The actions that start no new work (not BILLABLE) share one `Cost`, made per call: a no-change
    plan holds one action per resource, and a Cost each was ~0.5 KB (10 MB at 20,000 resources).
    What later changes a cost in place (a quote's failure, a queue position) changes billable ones
    only: those are each their own (`_priced`)."""
    no_new_work: Cost | None = None
    for action in actions:
        if action.action not in BILLABLE:
            if no_new_work is None:
                no_new_work = _no_new_work()
            action.cost = no_new_work
            continue
        action.cost = _priced(action, economics.get(action.provider))
    return total_of(actions)


def _no_new_work() -> Cost:
    """A copy of `_NO_NEW_WORK` (the template is never handed out), built without validation."""
    return Cost.trusted(**{**_NO_NEW_WORK.__dict__, "quantities": {}})


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
    work = Work(
        kind=action.kind,
        spec=action.desired or {},
        training_steps=cost.training_steps,
        gpu_hours=cost.estimated_gpu_hours,
    )
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
    cost.unit_price, cost.per = price.amount, price.per
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


def budget_problem(
    total: CostTotal | None, amount: float, currency: str, *, flag: str = "--max-cost"
) -> str | None:
    """Why a plan costing `total` may not go ahead under a budget of `amount` `currency` (None: it may).

    Only known money is compared; unknown prices are not guessed (`budget_note` says how many)."""
    if total is None:
        return None
    limit = format_money(amount, currency)
    others = sorted(c for c, v in total.money.items() if c != currency and v > 0)
    if others:
        return (
            f"the plan costs {total.money_text()}, partly in {', '.join(others)}, and {flag} {limit} is in "
            f"{currency}: they cannot be compared; give {flag} in {others[0]}, or price the plan in {currency} "
            "with spec.pricing"
        )
    if total.over(amount, currency):
        return (
            f"the plan's estimated cost, {total.money_text()}, is above {flag} {limit}; nothing was applied. "
            f"Raise {flag}, or plan less (fewer or smaller trainings)"
        )
    return None


def budget_note(total: CostTotal | None, *, flag: str = "--max-cost") -> str | None:
    if total is None or not total.unknown:
        return None
    what = "action has" if total.unknown == 1 else "actions have"
    return (
        f"{total.unknown} {what} no known price and {'is' if total.unknown == 1 else 'are'} not counted "
        f"against {flag}; set spec.pricing in the Provider manifest to count them"
    )


def estimate_output(action: Action) -> dict[str, object] | None:
    """What the plan estimated, as kept in state beside what the provider later reports."""
    cost = action.cost
    if cost is None or not cost.billable:
        return None
    out: dict[str, object] = {"money": cost.money, "currency": cost.currency}
    if cost.estimated_gpu_hours is not None:
        out["gpu_hours"] = cost.estimated_gpu_hours
    if cost.price:
        out["price"] = cost.price
    if cost.price_source:
        out["price_source"] = cost.price_source
    if cost.money is None:
        out["unknown"] = cost.unknown
    return out


def used_output(
    eco: Economics | None, action: Action, observed: Mapping[str, object] | None
) -> dict[str, object] | None:
    """What the provider reports as used (training tokens, run time), priced like the estimate."""
    if eco is None:
        return None
    work = Work(kind=action.kind, spec=action.desired or {})
    used = eco.model.used(action.kind, observed)
    if not used:
        return None
    price = eco.book.lookup(action.address, eco.model.price_keys(work))
    cost = action.cost
    if cost is not None and cost.unit_price is not None and cost.currency and cost.per:
        price = Price(cost.unit_price, cost.currency, cost.per, cost.price_source or "")  # what the plan used
    money = money_of(price, used)
    out: dict[str, object] = {"reported": {u: round(v, 6) for u, v in sorted(used.items())}}
    out["money"] = money
    out["currency"] = price.currency if price is not None and money is not None else None
    if "gpu_hour" in used:
        out["gpu_hours"] = round(used["gpu_hour"], 3)
    return out
