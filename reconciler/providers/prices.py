"""Documented prices of what a plan creates besides trainings (a Sample's render), with sources.

A table rather than a method on the adapters because the planner needs it even for
`plan --refresh=false`, which must not import any provider's HTTP client (like each provider's `facts.py`).
An undocumented price is unknown — said so, never 0. The WaveSpeed package owns the facts; this
module only keeps them importable without it. (Issue 11 item 1 brings a per-kind cost hook and
provider price sources; Samples then estimate through it.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# per render, USD. Seed 004: "Just $0.025 per image". Seed 001 states no price.
RENDER_PRICES_USD: dict[str, tuple[float | None, str]] = {
    "qwen-image/edit-plus-lora": (0.025, "seed 004, the model page"),
    "wan-2.2/t2v-720p-lora-ultra-fast": (None, "not documented"),
}


@dataclass(frozen=True)
class RenderCost:
    usd: float | None  # None: unknown
    note: str


def render_cost(provider_type: str, spec: Mapping[str, Any]) -> RenderCost | None:
    """What one render of a Sample spec costs; None for a provider with no Sample kind."""
    if provider_type == "dashscope":
        # a deployed Wan LoRA is "billed at the base model's price" per call [seed][doc]; that price
        # is not in the documents we have
        return RenderCost(
            None, "1 video from the deployed model: billed at its base model's price, unknown here"
        )
    if provider_type != "wavespeed":
        return None
    model = str(spec.get("model"))
    price, source = RENDER_PRICES_USD.get(model, (None, "not documented"))
    if price is None:
        return RenderCost(None, f"1 render of {model}: price unknown ({source})")
    return RenderCost(price, f"1 render of {model}: about ${price:.3f} ({source})")
