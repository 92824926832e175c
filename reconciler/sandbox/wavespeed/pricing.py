"""`POST /api/v3/model/pricing` — what one request with given inputs costs (providers.md §2.7).

Documented shape only: the body `{"model_id", "inputs"}` and the answer `data.unit_price`
[sdk-desktop]. The prices themselves are not in any document for the trainers, so the emulator's
trainer price (a fixed amount per training step) is a guess, labelled so in fidelity.py; the seed
004 model answers its documented $0.025 per image.
"""

from __future__ import annotations

from typing import Any

from reconciler.models.wavespeed_tables import TRAINER_NAMESPACE, TRAINERS
from reconciler.sandbox.routing import ApiError, Context, Response, Route
from reconciler.sandbox.wavespeed.common import API, ok

# guess: no trainer price is documented; 1000 steps of the image trainer come to $1.25
TRAINER_PRICE_PER_STEP = 0.00125
SEED_PRICES = {"wavespeed-ai/qwen-image/edit-plus-lora": 0.025}  # seed 004: "Just $0.025 per image"


def pricing(ctx: Context) -> Response:
    body = ctx.request.json_object()
    model_id = body.get("model_id")
    inputs = body.get("inputs", {})
    if not isinstance(model_id, str) or not model_id:
        raise ApiError(400, "BadRequest", "model_id is required")
    if not isinstance(inputs, dict):
        raise ApiError(400, "BadRequest", "inputs must be an object")
    if model_id in SEED_PRICES:
        return ok({"unit_price": SEED_PRICES[model_id]})
    namespace, _, trainer = model_id.partition("/")
    facts = TRAINERS.get(trainer) if namespace == TRAINER_NAMESPACE else None
    if facts is None:
        raise ApiError(404, "NotFound", f"Model {model_id} not found")
    steps = _steps(inputs.get("steps"), facts.steps_default)
    return ok({"unit_price": round(steps * TRAINER_PRICE_PER_STEP, 6)})


def _steps(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "BadRequest", f"inputs.steps must be an integer (got {value!r})")
    return value


def routes() -> list[Route]:
    return [Route("POST", f"{API}/model/pricing", pricing)]
