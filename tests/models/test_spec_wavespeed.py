"""WaveSpeed specs: provider, dataset origin, per-trainer defaults and ranges."""

from __future__ import annotations

import typing

import pytest

from reconciler.models.wavespeed import (
    TRAINERS,
    Trainer,
    WaveSpeedDataset,
    WaveSpeedFineTune,
    WaveSpeedProvider,
    trainer_model_id,
)


def test_provider_defaults(errors_of):
    provider = WaveSpeedProvider.model_validate({"type": "wavespeed"})
    assert provider.endpoint == "https://api.wavespeed.ai"
    assert provider.credential_envs() == {"api_key": "WAVESPEED_API_KEY"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"endpoint": "http://api.wavespeed.ai"},
            (
                "endpoint",
                "http:// is only allowed for localhost, 127.0.0.1 or ::1; use https:// for api.wavespeed.ai",
            ),
        ),
        (
            {"endpoint": "wavespeed"},
            ("endpoint", "must be 'sandbox', an https:// URL or http:// on localhost"),
        ),
        ({"sandbox": {}}, ("sandbox", "is only allowed when endpoint is 'sandbox'")),
        (
            {"api_key": "abc"},
            (
                "api_key",
                "a credential must not be written into a manifest: put it in an "
                "environment variable and name it in api_key_env",
            ),
        ),
        (
            {"api_key_env": "wsk_9f8e7d6c5b4a39281726354a"},
            (
                "api_key_env",
                "must name an environment variable "
                "(letters, digits and _, not starting with a digit), not hold the credential itself: put the secret in "
                "an environment variable and name it in api_key_env",
            ),
        ),
    ],
)
def test_provider_rules(errors_of, data, expected):
    assert errors_of(WaveSpeedProvider, {"type": "wavespeed", **data}) == [expected]


def test_provider_sandbox_with_faults():
    provider = WaveSpeedProvider.model_validate(
        {"type": "wavespeed", "endpoint": "sandbox", "sandbox": {"faults": {"seed": 1, "fail_jobs": 0.5}}}
    )
    assert provider.sandbox is not None and provider.sandbox.faults.fail_jobs == 0.5


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, [("source", "exactly one of source or url is required")]),
        (
            {"source": "data", "url": "https://x.example/d.zip"},
            [("url", "give either source or url, not both")],
        ),
        ({"url": "http://x.example/d.zip"}, [("url", "must be an https:// URL")]),
        ({"url": "d.zip"}, [("url", "must be an https:// URL")]),
        ({"source": ""}, [("source", "must not be empty")]),
    ],
)
def test_dataset_rules(errors_of, data, expected):
    assert errors_of(WaveSpeedDataset, {"provider": "ws", **data}) == expected


@pytest.mark.parametrize("origin", [{"source": "images/"}, {"url": "https://cdn.example/set.zip"}])
def test_dataset_accepts_one_origin(errors_of, origin):
    assert errors_of(WaveSpeedDataset, {"provider": "ws", **origin}) == []


FT = {"provider": "ws", "dataset": "faces"}


@pytest.mark.parametrize(
    ("trainer", "steps", "learning_rate", "lora_rank", "media", "two"),
    [
        ("wan-2.2-image-lora-trainer", 1000, 0.0002, 32, "image", True),
        ("wan-2.2-i2v-lora-trainer", 100, 0.0002, 32, "video", True),
        ("qwen-image-lora-trainer", 1000, 0.0004, 16, "image", False),
        ("flux-dev-lora-trainer", 1000, 0.0004, 16, "image", False),
        ("flux-dev-lora-trainer-turbo", 1000, 0.0004, 16, "image", False),
        ("wan-2.1-14b-lora-trainer", 2000, 0.0001, 32, "image", False),
    ],
)
def test_finetune_trainer_defaults(trainer, steps, learning_rate, lora_rank, media, two):
    spec = WaveSpeedFineTune.model_validate({**FT, "trainer": trainer})
    assert spec.model_dump() == {
        "provider": "ws",
        "trainer": trainer,
        "dataset": "faces",
        "trigger_word": "p3r5on",
        "steps": steps,
        "learning_rate": learning_rate,
        "lora_rank": lora_rank,
    }
    assert spec.facts.media == media
    assert spec.facts.two_loras is two
    assert spec.facts.lora_outputs == (("high_noise_lora", "low_noise_lora") if two else ("lora",))
    assert spec.model_id == f"wavespeed-ai/{trainer}" == trainer_model_id(trainer)


@pytest.mark.parametrize(
    ("trainer", "field", "value", "message"),
    [
        (
            "wan-2.2-image-lora-trainer",
            "steps",
            999,
            "must be between 1000 and 10000 for wan-2.2-image-lora-trainer (got 999)",
        ),
        (
            "wan-2.2-image-lora-trainer",
            "steps",
            10001,
            "must be between 1000 and 10000 for wan-2.2-image-lora-trainer (got 10001)",
        ),
        (
            "wan-2.2-i2v-lora-trainer",
            "steps",
            49,
            "must be between 50 and 1500 for wan-2.2-i2v-lora-trainer (got 49)",
        ),
        (
            "wan-2.2-i2v-lora-trainer",
            "steps",
            1501,
            "must be between 50 and 1500 for wan-2.2-i2v-lora-trainer (got 1501)",
        ),
        (
            "qwen-image-lora-trainer",
            "steps",
            499,
            "must be between 500 and 10000 for qwen-image-lora-trainer (got 499)",
        ),
        (
            "flux-dev-lora-trainer-turbo",
            "steps",
            500,
            "must be between 1000 and 10000 for flux-dev-lora-trainer-turbo (got 500)",
        ),
        (
            "wan-2.2-image-lora-trainer",
            "lora_rank",
            129,
            "must be between 1 and 128 for wan-2.2-image-lora-trainer (got 129)",
        ),
        (
            "qwen-image-lora-trainer",
            "lora_rank",
            65,
            "must be between 1 and 64 for qwen-image-lora-trainer (got 65)",
        ),
        (
            "wan-2.1-14b-lora-trainer",
            "lora_rank",
            128,
            "must be between 1 and 64 for wan-2.1-14b-lora-trainer (got 128)",
        ),
        ("flux-dev-lora-trainer", "steps", 0, "must be ≥ 1 (got 0)"),
        ("flux-dev-lora-trainer", "lora_rank", 0, "must be ≥ 1 (got 0)"),
        ("flux-dev-lora-trainer", "learning_rate", 0, "must be > 0 (got 0)"),
        ("flux-dev-lora-trainer", "learning_rate", 1.5, "must be ≤ 1 (got 1.5)"),
        ("flux-dev-lora-trainer", "trigger_word", 7, "must be a string (got 7)"),
    ],
)
def test_finetune_ranges(errors_of, trainer, field, value, message):
    assert errors_of(WaveSpeedFineTune, {**FT, "trainer": trainer, field: value}) == [(field, message)]


@pytest.mark.parametrize(
    ("trainer", "steps"),
    [("wan-2.2-i2v-lora-trainer", 50), ("wan-2.2-i2v-lora-trainer", 1500), ("qwen-image-lora-trainer", 500)],
)
def test_finetune_range_bounds_inclusive(errors_of, trainer, steps):
    assert errors_of(WaveSpeedFineTune, {**FT, "trainer": trainer, "steps": steps}) == []


def test_finetune_trainer_enum_and_empty_trigger(errors_of):
    assert errors_of(WaveSpeedFineTune, {**FT, "trainer": "sdxl-lora-trainer"}) == [
        ("trainer", "must be one of: " + ", ".join(typing.get_args(Trainer)) + " (got 'sdxl-lora-trainer')")
    ]
    spec = WaveSpeedFineTune.model_validate({**FT, "trainer": "flux-dev-lora-trainer", "trigger_word": ""})
    assert spec.trigger_word == ""


def test_trainer_table_matches_enum():
    assert set(typing.get_args(Trainer)) == set(TRAINERS)
    for facts in TRAINERS.values():
        assert facts.steps_min <= facts.steps_default <= facts.steps_max
        assert facts.lora_rank_min <= facts.lora_rank_default <= facts.lora_rank_max
        assert 0 < facts.learning_rate_default <= 1
