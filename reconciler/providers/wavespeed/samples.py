"""Samples on WaveSpeed: the request a render sends, what its prediction means, and its price.

A Sample is one prediction of a LoRA inference model (seeds 001, 004). Like a training, the
submit has no idempotency key and the history (`POST /api/v3/predictions`) shows no `input`,
so a lost submit response is settled exactly as a training's is (`WaveSpeedAdapter.find`): the
unclaimed, live predictions of the same model created since the journal row; one is ours,
several stop the resource (`AmbiguousMatch`), none means "look again later" — never a re-send.

Prices: `reconciler/providers/prices.py` (importable without this package, for offline plans).

Rendered media URLs are temporary (7 days, as for every WaveSpeed output [doc]); an expired
render is not rendered again by itself (that would bill again for the same picture): the plan
says so, and `reconciler output --download` / `--gallery` keep copies with their sha256.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.models.wavespeed_samples import WAN_T2V, lora_lists, sample_model_id
from reconciler.providers.wavespeed.outputs import parse_lora_outputs


def fine_tune_loras(desired_inputs: Mapping[str, Mapping[str, Any]], fine_tune: str) -> dict[str, str]:
    """The LoRA file URLs the referenced FineTune produced (empty until it completed)."""
    outputs = desired_inputs.get(f"FineTune/{fine_tune}") or {}
    return {k: str(outputs[k]) for k in ("lora", "high_noise_lora", "low_noise_lora") if outputs.get(k)}


def render_body(spec: Mapping[str, Any], loras: dict[str, str]) -> dict[str, Any]:
    """The submit body for `POST /api/v3/wavespeed-ai/<model>` (seed parameter names)."""
    model = str(spec["model"])
    body: dict[str, Any] = {"prompt": spec["prompt"], "seed": spec.get("seed", -1)}
    body.update(
        lora_lists(loras, float(spec.get("lora_scale", 1.0)), list(spec.get("extra_loras") or []), model)
    )
    if model == WAN_T2V:
        body["size"] = spec.get("size")
        body["duration"] = spec.get("duration")
        if spec.get("negative_prompt") is not None:
            body["negative_prompt"] = spec["negative_prompt"]
    else:
        body["images"] = list(spec.get("images") or [])
        body["output_format"] = spec.get("output_format") or "jpeg"
        body["enable_base64_output"] = False
        if spec.get("size") is not None:
            body["size"] = spec["size"]
        if spec.get("enable_sync_mode") is not None:
            body["enable_sync_mode"] = spec["enable_sync_mode"]
    return body


def model_id_of(spec: Mapping[str, Any]) -> str:
    return sample_model_id(str(spec["model"]))


def media_type(model_id: str) -> str:
    return "video" if model_id.endswith(WAN_T2V) else "image"


def media_outputs(outputs: list[Any]) -> dict[str, str]:
    """`media` (and `media_2`, …) from a completed render's `outputs` (URLs, documented [seed])."""
    urls = [o for o in outputs if isinstance(o, str) and o]
    if not urls:  # tolerate the trainer-style shapes the desktop client allows
        urls = [v for v in parse_lora_outputs(outputs).values() if isinstance(v, str)]
    return {("media" if i == 0 else f"media_{i + 1}"): url for i, url in enumerate(urls)}
