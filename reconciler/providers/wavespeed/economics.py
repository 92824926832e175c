"""WaveSpeed's prices, billable quantities, reported usage and concurrency (pure; see providers/economics.py).

A trainer's price depends on its inputs and is not printed in the trainer docs; WaveSpeed's pricing
endpoint (`POST /api/v3/model/pricing`, providers.md §2.7) answers it per request, so the adapter
quotes each training before planning (`WaveSpeedAdapter.quote`) and the table here holds only what a
seed prints. WaveSpeed bills in US dollars (balances and tiers are in $, providers.md §2.8) [inf].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.models.costs import Price
from reconciler.models.wavespeed import TRAINERS
from reconciler.providers.economics import Quota, Work

PRICES: dict[str, Price] = {
    # seed 004 (wavespeed.ai/docs/docs-api/wavespeed-ai/qwen-image/edit-plus-lora): "Just $0.025 per image"
    "wavespeed-ai/qwen-image/edit-plus-lora": Price(
        0.025,
        "USD",
        "image",
        "seed 004, wavespeed.ai/docs/docs-api/wavespeed-ai/qwen-image/edit-plus-lora (Pricing: $0.025 per image)",
    ),
}
TRAINER_NAMESPACE = "wavespeed-ai"

QUOTA = Quota(
    kinds=("FineTune", "Sample"),  # a render is a task too: the tier caps all tasks [doc]
    concurrent_jobs=3,
    max_jobs=None,
    concurrent_source=(
        "WaveSpeed's Bronze (default) tier runs 3 tasks at once (providers.md §2.8, wavespeed.ai/docs/account-levels "
        "[doc]); a higher tier says so in spec.quota.concurrent_jobs"
    ),
)


class WaveSpeedEconomics:
    def __init__(self, endpoint: str = "sandbox") -> None:
        self.endpoint = endpoint  # one price list and quota for every endpoint

    def price_table(self) -> Mapping[str, Price]:
        return PRICES

    def price_keys(self, work: Work) -> list[str]:
        trainer = work.spec.get("trainer")
        if work.kind == "FineTune" and trainer:
            return [str(trainer), f"{TRAINER_NAMESPACE}/{trainer}", work.kind]
        model = work.spec.get("model")
        if work.kind == "Sample" and model:  # a render: the seed's model id, then the short name
            return [f"{TRAINER_NAMESPACE}/{model}", str(model), work.kind]
        return [str(model), work.kind] if model else [work.kind]

    def quantities(self, work: Work) -> dict[str, float]:
        out: dict[str, float] = {"run": 1.0}
        if work.kind == "Sample":
            # one render makes one output: an image (edit) or a video (t2v) [seed 001, 004]
            media = "video" if str(work.spec.get("model", "")).startswith("wan-") else "image"
            out[media] = 1.0
            return out
        if work.kind != "FineTune":
            return out
        trainer = str(work.spec.get("trainer") or "")
        facts = TRAINERS.get(trainer)
        steps = work.training_steps or work.spec.get("steps") or (facts.steps_default if facts else None)
        if isinstance(steps, int) and not isinstance(steps, bool):
            out["training_step"] = float(steps)
        if work.gpu_hours is not None:
            out["gpu_hour"] = work.gpu_hours
        return out

    def used(self, kind: str, observed: Mapping[str, Any] | None) -> dict[str, float]:
        # data.timings.inference: "Inference time in milliseconds" (seed 000); executionTime on history items [doc]
        obj = observed or {}
        timings = obj.get("timings") if isinstance(obj.get("timings"), dict) else {}
        ms = (timings or {}).get("inference") or obj.get("executionTime")
        if not isinstance(ms, int | float) or isinstance(ms, bool) or ms <= 0:
            return {}
        return {"gpu_hour": ms / 3_600_000, "run": 1.0}

    def quota(self) -> Quota:
        return QUOTA
