"""Money, GPU-hours and quotas as data: what the plan shows and what a Provider manifest may override.

A price is always a number *with* its currency, its unit and where it came from; a price nobody
knows is `None` and renders "unknown", never 0 (a documented free call is 0 with its source). The
totals keep currencies apart and count the unknowns, so a plan says "at least $X + 2 unknown".

Nothing here knows a provider: the price tables, the quotas and how a spec turns into quantities
(training tokens, steps, GPU-hours) live in each provider package (`providers/<name>/economics.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reconciler.models.envelope import StrictModel

# What a price is counted in. A provider reports quantities in these units; a price multiplies one.
PriceUnit = Literal["run", "training_step", "1k_training_tokens", "gpu_hour", "image", "video_second"]
PRICE_UNITS: tuple[str, ...] = get_args(PriceUnit)

_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
CURRENCY_SYMBOLS = {"USD": "$", "CNY": "¥", "EUR": "€"}


@dataclass(frozen=True)
class Price:
    """One unit price and where it came from (a URL or document and its date, the manifest, an endpoint)."""

    amount: float
    currency: str
    per: str  # a PriceUnit
    source: str

    def describe(self) -> str:
        return f"{format_money(self.amount, self.currency)} per {self.per.replace('_', ' ')}"


def format_money(amount: float, currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{amount:,.2f}" if amount >= 0.01 or amount == 0 else f"{amount:.4g}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


# ----------------------------------------------------------------- Provider manifest overrides
class PriceOverride(StrictModel):
    """`spec.pricing.<model or kind>` in a Provider manifest: a price you know better than the table."""

    amount: float = Field(ge=0, description="Price of one unit (0 for a call you know is free)")
    currency: str = Field(description="ISO 4217 code, e.g. USD or CNY")
    per: PriceUnit = Field(
        description="What one unit is: run, training_step, 1k_training_tokens, gpu_hour, image, video_second"
    )
    source: str | None = Field(None, description="Where the price comes from (contract, price page and date)")

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not _CURRENCY_RE.match(value):
            raise ValueError(f"must be a three-letter ISO 4217 code such as USD or CNY (got {value!r})")
        return value

    def price(self, provider: str, key: str) -> Price:
        where = self.source or "no source given"
        return Price(
            self.amount, self.currency, self.per, f"Provider/{provider} spec.pricing.{key} ({where})"
        )


class QuotaOverride(StrictModel):
    """`spec.quota` in a Provider manifest: the account's limits when they differ from the documented ones."""

    concurrent_jobs: int | None = Field(
        None, ge=1, description="Training jobs that may run (or wait on the provider) at once"
    )
    max_jobs: int | None = Field(
        None, ge=1, description="Training jobs that may exist running or succeeded on the account"
    )


# ----------------------------------------------------------------- plan totals
class CostTotal(BaseModel):
    """Display only: the plan's sum. Unknown prices are counted, never added as 0."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    money: dict[str, float] = Field(default_factory=dict)  # currency -> known sum
    unknown: int = 0  # actions whose price is unknown
    gpu_hours: float = 0.0
    gpu_hours_unknown: int = 0

    def money_text(self) -> str:
        spent = {c: v for c, v in self.money.items() if v} or dict(list(self.money.items())[:1])
        known = " + ".join(format_money(v, c) for c, v in sorted(spent.items())) or None
        if self.unknown:
            return f"at least {known or format_money(0, 'USD')} + {self.unknown} unknown"
        return known or "nothing"

    def over(self, limit: float, currency: str) -> bool:
        """Whether the known part already exceeds `limit` (in `currency`; other currencies cannot be compared)."""
        return self.money.get(currency, 0.0) > limit + 1e-9


def add_up(lines: Iterable[tuple[float | None, str | None, float | None, bool]]) -> CostTotal:
    """(money, currency, gpu_hours, trains) per action -> the total. money None = unknown."""
    # (every field its default: what `CostTotal()` makes, without building its validator at start-up)
    total = CostTotal.model_construct()
    for money, currency, hours, trains in lines:
        if money is None or currency is None:
            total.unknown += 1
        else:
            total.money[currency] = round(total.money.get(currency, 0.0) + money, 6)
        if hours is not None:
            total.gpu_hours = round(total.gpu_hours + hours, 3)
        elif trains:
            total.gpu_hours_unknown += 1
    return total


def parse_budget(text: str, default_currency: str = "USD") -> tuple[float, str]:
    """'25', '25.50', '$25', '25 USD', '¥180', '180CNY' -> (amount, currency). ValueError otherwise."""
    raw = text.strip()
    currency = default_currency
    for code, symbol in CURRENCY_SYMBOLS.items():
        if raw.startswith(symbol):
            raw, currency = raw[len(symbol) :].strip(), code
    m = re.match(r"^([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([A-Za-z]{3})?$", raw)
    if not m:
        raise ValueError(f"must be an amount such as 25, 25.50, $25 or '180 CNY' (got {text!r})")
    if m.group(2):
        currency = m.group(2).upper()
    return float(m.group(1).replace(",", "").replace("_", "")), currency


def money_of(price: Price | None, quantities: Mapping[str, float]) -> float | None:
    """The price times the quantity it is counted in; None when either is unknown."""
    if price is None or price.per not in quantities:
        return None
    return round(price.amount * quantities[price.per], 6)
