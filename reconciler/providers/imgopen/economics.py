"""ImgOpen's economics: no price and no quota is documented (providers.md §3), so every price is
unknown unless the Provider manifest's `spec.pricing` names one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.models.costs import Price
from reconciler.providers.economics import Quota, Work


class ImgOpenEconomics:
    def __init__(self, endpoint: str = "sandbox") -> None:
        self.endpoint = endpoint  # one price list and quota for every endpoint

    def price_table(self) -> Mapping[str, Price]:
        return {}

    def price_keys(self, work: Work) -> list[str]:
        model = work.spec.get("pretrained_model") or work.spec.get("pretrainedModel")
        return [str(model), work.kind] if work.kind == "FineTune" and model else [work.kind]

    def quantities(self, work: Work) -> dict[str, float]:
        out: dict[str, float] = {"run": 1.0}
        if work.kind == "FineTune" and work.training_steps is not None:
            out["training_step"] = float(work.training_steps)
        if work.gpu_hours is not None:
            out["gpu_hour"] = work.gpu_hours
        return out

    def used(self, kind: str, observed: Mapping[str, Any] | None) -> dict[str, float]:
        return {}  # the result endpoint is undocumented: nothing reported can be trusted

    def quota(self) -> Quota:
        return Quota()
