"""Money as data: totals never turn an unknown into 0, budgets compare only what is known (seeded invariants)."""

from __future__ import annotations

import random

import pytest

from reconciler.engine.costing import budget_problem
from reconciler.models.costs import CostTotal, Price, add_up, format_money, money_of, parse_budget


def _lines(rng: random.Random) -> list[tuple[float | None, str | None, float | None, bool]]:
    out = []
    for _ in range(rng.randrange(0, 12)):
        known = rng.random() < 0.7
        currency = rng.choice(["USD", "USD", "CNY"]) if known else None
        money = round(rng.uniform(0, 50), 2) if known else None
        hours = round(rng.uniform(0, 9), 1) if rng.random() < 0.5 else None
        out.append((money, currency, hours, rng.random() < 0.5))
    return out


@pytest.mark.parametrize("seed", range(200))
def test_totals_keep_unknowns_and_currencies_apart(seed: int) -> None:
    rng = random.Random(seed)
    lines = _lines(rng)
    total = add_up(lines)
    assert total.unknown == sum(1 for m, c, _, _ in lines if m is None or c is None)
    for currency in ("USD", "CNY"):
        expected = sum(m for m, c, _, _ in lines if m is not None and c == currency)
        assert total.money.get(currency, 0.0) == pytest.approx(expected)
    assert total.gpu_hours == pytest.approx(sum(h for _, _, h, _ in lines if h is not None))
    text = total.money_text()
    if total.unknown:
        assert text.startswith("at least ") and text.endswith(f"+ {total.unknown} unknown")
    # a budget refuses exactly when the known sum in its currency is above it, or another currency spent
    limit = round(rng.uniform(0, 120), 2)
    usd = total.money.get("USD", 0.0)
    other = total.money.get("CNY", 0.0) > 0
    problem = budget_problem(total, limit, "USD")
    assert (problem is not None) == (other or usd > limit + 1e-9), (total, limit, problem)


def test_an_unknown_price_or_quantity_is_none_never_zero() -> None:
    price = Price(0.05, "USD", "1k_training_tokens", "somewhere")
    assert money_of(None, {"1k_training_tokens": 3.0}) is None
    assert money_of(price, {"run": 1.0}) is None
    assert money_of(price, {"1k_training_tokens": 486.0}) == pytest.approx(24.3)
    assert CostTotal(unknown=2).money_text() == "at least $0.00 + 2 unknown"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25", (25.0, "USD")),
        ("$25.50", (25.5, "USD")),
        ("180 CNY", (180.0, "CNY")),
        ("¥1,200", (1200.0, "CNY")),
    ],
)
def test_budgets_parse(text: str, expected: tuple[float, str]) -> None:
    assert parse_budget(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-5", "5 dollars", "$"])
def test_bad_budgets_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="must be an amount such as 25"):
        parse_budget(text)


def test_money_formats_small_prices_without_rounding_them_away() -> None:
    assert format_money(0.00125, "USD") == "$0.00125"
    assert format_money(24.3, "USD") == "$24.30" and format_money(7, "JPY") == "7.00 JPY"
