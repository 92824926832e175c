"""WaveSpeed Sample: render a prompt with a FineTune's LoRA through a LoRA inference model.

The two models the seeds document (providers.md §2.6):
- `wan-2.2/t2v-720p-lora-ultra-fast` (seed 001): text → video. `prompt` (required),
  `negative_prompt`, `size` 1280*720 | 720*1280 (default 1280*720), `duration` 5 | 8 (default 5),
  `seed` −1…2147483647 (default −1), and LoRAs as `loras[]`, `high_noise_loras[]`,
  `low_noise_loras[]` (each at most 3 items of `{path, scale 0–4}`).
- `qwen-image/edit-plus-lora` (seed 004): image edit. `prompt` and `images[]` (1–3 URLs) required,
  `size` W*H with 256–1536 per side, `loras[]` (at most 3), `seed`, `output_format`
  jpeg | png | webp (default jpeg), `enable_base64_output`, `enable_sync_mode`.

The FineTune's own LoRA is put where it belongs: a Wan 2.2 trainer's two LoRAs as
`high_noise_loras` + `low_noise_loras`, a single-LoRA trainer's as `loras` — each at
`lora_scale`. `extra_loras` add other LoRA files (URLs) beside it, within the limit of 3 per list.
Every field here is `re-render`: any change renders the sample again (a new prediction).

One Sample is one prediction (one prompt): a prediction is what WaveSpeed can find again after a
lost response, so a resource never stands for several provider objects.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator

from reconciler.models.changes import ChangeClass, change_class
from reconciler.models.envelope import Name, StrictModel
from reconciler.models.kinds import Kind
from reconciler.models.rule_errors import RuleError, raise_rule_errors, rule_error
from reconciler.models.specs import ResourceSpec
from reconciler.models.wavespeed import TRAINER_NAMESPACE, TRAINERS
from reconciler.models.wavespeed_tables import LORA_SCALE_MAX as LORA_SCALE_MAX
from reconciler.models.wavespeed_tables import MAX_LORAS as MAX_LORAS
from reconciler.models.wavespeed_tables import OUTPUT_FORMATS as OUTPUT_FORMATS
from reconciler.models.wavespeed_tables import QWEN_EDIT as QWEN_EDIT
from reconciler.models.wavespeed_tables import QWEN_MAX_IMAGES as QWEN_MAX_IMAGES
from reconciler.models.wavespeed_tables import QWEN_SIDE_MAX as QWEN_SIDE_MAX
from reconciler.models.wavespeed_tables import QWEN_SIDE_MIN as QWEN_SIDE_MIN
from reconciler.models.wavespeed_tables import SAMPLE_MODELS as SAMPLE_MODELS
from reconciler.models.wavespeed_tables import SEED_MAX as SEED_MAX
from reconciler.models.wavespeed_tables import WAN_DURATIONS as WAN_DURATIONS
from reconciler.models.wavespeed_tables import WAN_SIZES as WAN_SIZES
from reconciler.models.wavespeed_tables import WAN_T2V as WAN_T2V

if TYPE_CHECKING:
    from reconciler.models.resources import ManifestSet

RERENDER = ChangeClass.RERENDER

SampleModel = Literal["wan-2.2/t2v-720p-lora-ultra-fast", "qwen-image/edit-plus-lora"]

_SIZE = re.compile(r"^([0-9]+)\*([0-9]+)$")

# Which fields each model documents; a field of the other model is an error that says so.
_WAN_ONLY = ("negative_prompt", "duration")
_QWEN_ONLY = ("images", "output_format", "enable_sync_mode")


def sample_model_id(model: str) -> str:
    """The model id in the submit path: POST /api/v3/{model_id}."""
    return f"{TRAINER_NAMESPACE}/{model}"


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise rule_error(f"must be an https:// URL (got {value!r})")
    return value


class ExtraLora(StrictModel):
    """Another LoRA file applied beside the FineTune's (seed 001/004: `{path, scale}`)."""

    path: str = change_class(RERENDER, description="https:// URL of a .safetensors LoRA file")
    scale: float = change_class(RERENDER, ge=0.0, le=LORA_SCALE_MAX, description="Scale of the LoRA, 0–4")
    target: Literal["loras", "high_noise_loras", "low_noise_loras"] = change_class(
        RERENDER,
        "loras",
        description="Which list it joins (high_noise_loras / low_noise_loras: Wan 2.2 t2v only)",
    )

    @field_validator("path")
    @classmethod
    def _url(cls, value: str) -> str:
        return _https(value)


class WaveSpeedSample(ResourceSpec):
    """One render of a prompt with a FineTune's LoRA (`POST /api/v3/wavespeed-ai/<model>`)."""

    KIND: ClassVar[Kind] = Kind.SAMPLE
    PROVIDER_TYPE: ClassVar[str] = "wavespeed"
    REFERENCES: ClassVar[dict[str, Kind]] = {"fine_tune": Kind.FINE_TUNE}

    provider: Name = change_class(RERENDER, description="metadata.name of a Provider of type wavespeed")
    fine_tune: Name = change_class(RERENDER, description="Name of the FineTune whose LoRA is applied")
    model: SampleModel = change_class(
        RERENDER,
        description=(
            "LoRA inference model (without the wavespeed-ai/ prefix): wan-2.2/t2v-720p-lora-ultra-fast "
            "(text → video) or qwen-image/edit-plus-lora (image edit)"
        ),
    )
    prompt: str = change_class(RERENDER, min_length=1, description="The positive prompt")
    lora_scale: float = change_class(
        RERENDER, 1.0, ge=0.0, le=LORA_SCALE_MAX, description="Scale of the FineTune's LoRA, 0–4 (default 1)"
    )
    extra_loras: list[ExtraLora] = change_class(
        RERENDER, default_factory=list, description="Other LoRA files applied too (at most 3 per list in all)"
    )
    seed: int = change_class(
        RERENDER,
        -1,
        ge=-1,
        le=SEED_MAX,
        description="Random seed, -1 … 2147483647; -1 (the default) picks a random one, so renders differ",
    )
    size: str | None = change_class(
        RERENDER,
        None,
        description=(
            "width*height. wan t2v: 1280*720 (default) or 720*1280; qwen edit: 256–1536 per side "
            "(empty: the provider's choice)"
        ),
    )
    # --- wan-2.2/t2v-720p-lora-ultra-fast only
    negative_prompt: str | None = change_class(
        RERENDER, None, description="The negative prompt (wan t2v only)"
    )
    duration: int | None = change_class(
        RERENDER, None, description="Video length in seconds: 5 (default) or 8 (wan t2v only)"
    )
    # --- qwen-image/edit-plus-lora only
    images: list[str] = change_class(
        RERENDER,
        default_factory=list,
        description="https:// URLs of the images to edit, 1–3 (qwen edit only; required there)",
    )
    output_format: Literal["jpeg", "png", "webp"] | None = change_class(
        RERENDER, None, description="Output image format: jpeg (default), png or webp (qwen edit only)"
    )
    enable_sync_mode: bool | None = change_class(
        RERENDER,
        None,
        description="Keep the submit open until the image is ready (qwen edit only; polling works either way)",
    )
    enable_base64_output: bool = change_class(
        RERENDER,
        False,
        description=(
            "Must stay false: base64 outputs cannot be downloaded or shown in the gallery, and are not "
            "recorded in state (qwen edit only)"
        ),
    )

    @field_validator("enable_base64_output")
    @classmethod
    def _urls_only(cls, value: bool) -> bool:
        if value:
            raise rule_error(
                "must be false: a base64 output cannot be downloaded, recorded or shown in the gallery"
            )
        return value

    @field_validator("images")
    @classmethod
    def _image_urls(cls, value: list[str]) -> list[str]:
        return [_https(v) for v in value]

    def manifest_problems(self, manifests: ManifestSet) -> list[tuple[str, str]]:
        """Whether this model takes the LoRAs the FineTune's trainer makes, and the lists fit."""
        fine_tune = manifests.resources.get(f"{Kind.FINE_TUNE.value}/{self.fine_tune}")
        trainer = getattr(fine_tune.spec, "trainer", None) if fine_tune is not None else None
        facts = TRAINERS.get(str(trainer)) if trainer is not None else None
        if facts is None or fine_tune is None:
            return []
        if facts.two_loras and self.model != WAN_T2V:
            return [
                (
                    "spec.model",
                    f"{self.model} takes one LoRA list, but {fine_tune.address} ({trainer}) makes two LoRAs "
                    f"(high and low noise), which only {WAN_T2V} can take: render with {WAN_T2V}, or train "
                    "this sample's LoRA with a single-LoRA trainer (e.g. qwen-image-lora-trainer)",
                )
            ]
        return [
            (
                "spec.extra_loras",
                f"{target} would hold {count} LoRAs (the FineTune's own and {count - 1} extra); "
                f"at most {MAX_LORAS} are allowed: remove {count - MAX_LORAS}",
            )
            for target, count in sorted(loras_needed(facts.two_loras, self.extra_loras).items())
            if count > MAX_LORAS
        ]

    @model_validator(mode="after")
    def _model_rules(self) -> WaveSpeedSample:
        errors: list[RuleError] = []
        wan = self.model == WAN_T2V
        foreign = _QWEN_ONLY if wan else _WAN_ONLY
        for name in foreign:
            value = getattr(self, name)
            if value not in (None, []):
                errors.append(RuleError((name,), f"is not a parameter of {self.model}", value))
        if wan:
            if self.size is None:
                self.size = WAN_SIZES[0]
            elif self.size not in WAN_SIZES:
                errors.append(
                    RuleError(
                        ("size",),
                        f"must be one of {', '.join(WAN_SIZES)} for {self.model} (got {self.size})",
                        self.size,
                    )
                )
            if self.duration is None:
                self.duration = WAN_DURATIONS[0]
            elif self.duration not in WAN_DURATIONS:
                errors.append(
                    RuleError(("duration",), f"must be 5 or 8 (seconds; got {self.duration})", self.duration)
                )
        else:
            if not self.images:
                errors.append(
                    RuleError(("images",), f"is required for {self.model}: 1 to 3 image URLs to edit")
                )
            elif len(self.images) > QWEN_MAX_IMAGES:
                errors.append(
                    RuleError(
                        ("images",), f"at most {QWEN_MAX_IMAGES} images (got {len(self.images)})", self.images
                    )
                )
            if self.size is not None:
                errors += _qwen_size(self.size)
            if self.output_format is None:
                self.output_format = "jpeg"
        for i, extra in enumerate(self.extra_loras):
            if not wan and extra.target != "loras":
                errors.append(
                    RuleError(("extra_loras", i, "target"), f"{self.model} takes loras only", extra.target)
                )
        raise_rule_errors(type(self).__name__, errors)
        return self

    @property
    def model_id(self) -> str:
        return sample_model_id(self.model)


def _qwen_size(size: str) -> list[RuleError]:
    match = _SIZE.match(size)
    if match is None:
        return [RuleError(("size",), "must be width*height, e.g. 1024*1024", size)]
    sides = [int(match.group(1)), int(match.group(2))]
    if not all(QWEN_SIDE_MIN <= s <= QWEN_SIDE_MAX for s in sides):
        return [
            RuleError(
                ("size",), f"each side must be between {QWEN_SIDE_MIN} and {QWEN_SIDE_MAX} (got {size})", size
            )
        ]
    return []


def lora_lists(
    own: dict[str, str], scale: float, extra: list[dict[str, object]], model: str
) -> dict[str, list[dict[str, object]]]:
    """The `loras` / `high_noise_loras` / `low_noise_loras` a render sends.

    `own`: the FineTune's LoRA outputs (`lora`, or `high_noise_lora` + `low_noise_lora`). On the
    Wan 2.2 t2v model a two-LoRA (MoE) trainer's files go to their noise lists; elsewhere the one
    LoRA goes to `loras`. Raises ValueError when a list would exceed 3 or a LoRA has no place.
    """
    lists: dict[str, list[dict[str, object]]] = {}
    if "high_noise_lora" in own or "low_noise_lora" in own:
        if model != WAN_T2V:
            raise ValueError(
                f"{model} takes one LoRA list; a Wan 2.2 trainer's high/low-noise LoRAs fit {WAN_T2V} only"
            )
        for key, target in (("high_noise_lora", "high_noise_loras"), ("low_noise_lora", "low_noise_loras")):
            if key in own:
                lists.setdefault(target, []).append({"path": own[key], "scale": scale})
    elif "lora" in own:
        lists.setdefault("loras", []).append({"path": own["lora"], "scale": scale})
    else:
        raise ValueError("the FineTune has no LoRA output yet")
    for item in extra:
        target = str(item.get("target") or "loras")
        lists.setdefault(target, []).append({"path": item["path"], "scale": item["scale"]})
    for target, items in lists.items():
        if len(items) > MAX_LORAS:
            raise ValueError(f"{target} would hold {len(items)} LoRAs; at most {MAX_LORAS} are allowed")
    return lists


def loras_needed(two_loras: bool, extra: list[ExtraLora]) -> dict[str, int]:
    """How many items each LoRA list will carry, for the plan-time limit check."""
    counts: dict[str, int] = {}
    if two_loras:
        counts["high_noise_loras"] = counts["low_noise_loras"] = 1
    else:
        counts["loras"] = 1
    for item in extra:
        counts[item.target] = counts.get(item.target, 0) + 1
    return counts
