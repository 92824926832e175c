"""ImgOpen's economics: no price and no quota is documented (providers.md §3), so every price is
unknown unless the Provider manifest's `spec.pricing` names one; GPU-hours are a rough estimate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.models.costs import Price
from reconciler.providers.economics import Quota, Work

SECONDS_PER_STEP = 0.8  # a guess for SD 1.5 LoRA steps, for the plan's GPU-hours only


class ImgOpenEconomics:
    def price_table(self) -> Mapping[str, Price]:
        return {}

    def price_keys(self, work: Work) -> list[str]:
        model = work.spec.get("pretrained_model") or work.spec.get("pretrainedModel")
        return [str(model), work.kind] if work.kind == "FineTune" and model else [work.kind]

    def quantities(self, work: Work) -> dict[str, float]:
        out: dict[str, float] = {"run": 1.0}
        if work.kind == "FineTune" and work.training_steps is not None:
            out["training_step"] = float(work.training_steps)
            out["gpu_hour"] = work.training_steps * SECONDS_PER_STEP / 3600
        return out

    def used(self, kind: str, observed: Mapping[str, Any] | None) -> dict[str, float]:
        return {}  # the result endpoint is undocumented: nothing reported can be trusted

    def quota(self) -> Quota:
        return Quota()
