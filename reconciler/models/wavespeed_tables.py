"""WaveSpeed's plain facts: its trainers and the sample models' limits, without the spec models.

Why a module of its own: the sandbox's WaveSpeed emulator, the dataset layout check and the
provider read these tables; importing `models.wavespeed` for them builds its pydantic spec
models too (a few ms of start-up), which a run that never validates a WaveSpeed manifest —
every plan and apply against the sandbox, whatever its providers — does not need.
`models.wavespeed` and `models.wavespeed_samples` re-export every name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TRAINER_NAMESPACE = "wavespeed-ai"  # model id = f"{TRAINER_NAMESPACE}/{trainer}"

# ---------------------------------------------------------------------------------------------
# Trainers (providers.md §2.5)


@dataclass(frozen=True)
class TrainerFacts:
    """What one LoRA trainer accepts and produces."""

    media: Literal["image", "video"]  # what the dataset zip must contain (plus same-name .txt captions)
    min_items: int  # minimum number of images/videos in the zip
    two_loras: bool  # Wan 2.2 MoE: outputs high_noise_lora and low_noise_lora
    steps_default: int
    steps_min: int
    steps_max: int
    learning_rate_default: float
    lora_rank_default: int
    lora_rank_max: int
    lora_rank_min: int = 1

    @property
    def lora_outputs(self) -> tuple[str, ...]:
        return ("high_noise_lora", "low_noise_lora") if self.two_loras else ("lora",)


TRAINERS: dict[str, TrainerFacts] = {
    "wan-2.2-image-lora-trainer": TrainerFacts("image", 10, True, 1000, 1000, 10000, 0.0002, 32, 128),
    # minimum video count is undocumented; at least one video
    "wan-2.2-i2v-lora-trainer": TrainerFacts("video", 1, True, 100, 50, 1500, 0.0002, 32, 128),
    "qwen-image-lora-trainer": TrainerFacts("image", 4, False, 1000, 500, 10000, 0.0004, 16, 64),
    "flux-dev-lora-trainer": TrainerFacts("image", 4, False, 1000, 500, 10000, 0.0004, 16, 64),
    "flux-dev-lora-trainer-turbo": TrainerFacts("image", 4, False, 1000, 1000, 10000, 0.0004, 16, 64),
    "wan-2.1-14b-lora-trainer": TrainerFacts("image", 10, False, 2000, 1000, 10000, 0.0001, 32, 64),
}
Trainer = Literal[
    "wan-2.2-image-lora-trainer",
    "wan-2.2-i2v-lora-trainer",
    "qwen-image-lora-trainer",
    "flux-dev-lora-trainer",
    "flux-dev-lora-trainer-turbo",
    "wan-2.1-14b-lora-trainer",
]


# Rough trainer speeds, for the plan's GPU-hours and queue estimates only (no trainer documents its
# speed; "from concept to model in minutes", seed 000): estimates, shown as such.
TRAINER_SECONDS_PER_STEP: dict[str, float] = {
    "wan-2.2-image-lora-trainer": 1.2,
    "wan-2.2-i2v-lora-trainer": 9.0,
    "qwen-image-lora-trainer": 1.5,
    "flux-dev-lora-trainer": 1.2,
    "flux-dev-lora-trainer-turbo": 0.6,
    "wan-2.1-14b-lora-trainer": 1.5,
}


def trainer_model_id(trainer: str) -> str:
    """The model id in the submit path: POST /api/v3/{model_id}."""
    return f"{TRAINER_NAMESPACE}/{trainer}"


# ---------------------------------------------------------------------------------------------
# Sample models (providers.md §2.6)

WAN_T2V = "wan-2.2/t2v-720p-lora-ultra-fast"
QWEN_EDIT = "qwen-image/edit-plus-lora"
SAMPLE_MODELS: tuple[str, ...] = (WAN_T2V, QWEN_EDIT)

MAX_LORAS = 3  # "max 3 items" per list (seeds 001, 004)
LORA_SCALE_MAX = 4.0  # 0.0 ~ 4.0
SEED_MAX = 2147483647
WAN_SIZES = ("1280*720", "720*1280")
WAN_DURATIONS = (5, 8)
QWEN_SIDE_MIN, QWEN_SIDE_MAX = 256, 1536
QWEN_MAX_IMAGES = 3
OUTPUT_FORMATS = ("jpeg", "png", "webp")
