"""DashScope's prices, billable quantities, reported usage and job quotas (pure; see providers/economics.py).

Training a Wan LoRA is billed per 1,000 training tokens at a per-model price (International /
Singapore region). The billing page gives the token formula (videos × billable seconds ×
max_pixels × n_epochs) as an image our stored copies do not carry, so the estimate here is
calibrated on the one documented pair of numbers instead: the seed's example job reports
`usage: 432000` for 800 steps at batch_size 2, i.e. 270 tokens per sample pass [inf]. After the
job ran, the job's own `usage` replaces the estimate (`used()`), so the estimate is only ever a
plan-time figure, and is labelled so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.models.costs import Price
from reconciler.providers.economics import Quota, Work

# Source of every training price below (one table on one page), with the date the page shows.
_BILLING_PAGE = (
    "https://www.alibabacloud.com/help/en/model-studio/model-training-and-deployment-billing "
    "(Video generation models – Wan, training price per 1K tokens; updated 2026-03-18)"
)
TRAINING_PRICES: dict[str, Price] = {
    "wan2.6-i2v": Price(0.08, "USD", "1k_training_tokens", _BILLING_PAGE),
    "wan2.5-i2v-preview": Price(0.05, "USD", "1k_training_tokens", _BILLING_PAGE),
    "wan2.2-i2v-flash": Price(0.03, "USD", "1k_training_tokens", _BILLING_PAGE),
    "wan2.2-kf2v-flash": Price(0.03, "USD", "1k_training_tokens", _BILLING_PAGE),
}
OTHER_PRICES: dict[str, Price] = {
    # "Wan LoRA deployment itself is free, inference billed at base-model price" (providers.md §1.6 [seed][doc])
    "Deployment": Price(
        0.0,
        "USD",
        "run",
        "providers.md §1.6: Wan LoRA deployment itself is free; inference is billed at the base model's price "
        "(seed 002; Alibaba fine-tune guide, 2026-03-14)",
    ),
}
# The prices above are the International (Singapore) ones; the sandbox emulates that region's seeds.
PRICED_ENDPOINTS = frozenset({"sandbox", "intl", "ap-southeast-1", "https://dashscope-intl.aliyuncs.com"})

TOKENS_PER_SAMPLE_PASS = 270  # seed 002 example job: usage 432000 for 800 steps × batch_size 2 [inf]
DEFAULT_BATCH_SIZE = {"wan2.6-i2v": 2, "wan2.5-i2v-preview": 2, "wan2.2-i2v-flash": 4, "wan2.2-kf2v-flash": 4}

QUOTA = Quota(
    kinds=("FineTune",),
    concurrent_jobs=1,
    max_jobs=20,
    concurrent_source="DashScope runs one training job at a time per account (providers.md §1.4, §1.10 [doc])",
    max_jobs_source=(
        "DashScope allows 20 fine-tune jobs running or succeeded per account (providers.md §1.2, §1.10 [doc])"
    ),
    max_jobs_message="Only 20 fine-tune job in running or succeeded allowed per user.",
)


class DashScopeEconomics:
    def __init__(self, endpoint: str = "sandbox") -> None:
        self.endpoint = endpoint

    def price_table(self) -> Mapping[str, Price]:
        if self.endpoint.rstrip("/") not in PRICED_ENDPOINTS:
            return {}  # another region bills in its own currency and prices: unknown unless spec.pricing says
        return {**TRAINING_PRICES, **OTHER_PRICES}

    def price_keys(self, work: Work) -> list[str]:
        model = work.spec.get("model")
        return [str(model), work.kind] if work.kind == "FineTune" and model else [work.kind]

    def quantities(self, work: Work) -> dict[str, float]:
        out: dict[str, float] = {"run": 1.0}
        if work.kind != "FineTune" or work.training_steps is None:
            return out
        model = str(work.spec.get("model") or "")
        hp = work.spec.get("hyper_parameters") or {}
        batch = int(hp.get("batch_size") or DEFAULT_BATCH_SIZE.get(model, 2))
        steps = work.training_steps
        out["training_step"] = float(steps)
        out["1k_training_tokens"] = steps * batch * TOKENS_PER_SAMPLE_PASS / 1000
        if work.gpu_hours is not None:
            out["gpu_hour"] = work.gpu_hours
        return out

    def used(self, kind: str, observed: Mapping[str, Any] | None) -> dict[str, float]:
        # `usage` (training tokens, the billed quantity) on SUCCEEDED and CANCELED jobs (providers.md §1.4 [doc])
        usage = (observed or {}).get("usage")
        if kind != "FineTune" or not isinstance(usage, int | float) or isinstance(usage, bool):
            return {}
        return {"1k_training_tokens": usage / 1000}

    def quota(self) -> Quota:
        return QUOTA
