"""Every outputs shape a trainer prediction may come back with (providers.md §2.5)."""

from __future__ import annotations

import json

import pytest

from reconciler.providers.wavespeed.outputs import classify_url, missing_loras, parse_lora_outputs

CDN = "https://d2p7pge43lyniu.cloudfront.net/output"
HIGH = f"{CDN}/abc-u1_t2v_A14B_separate_high_noise_lora_0f1e.safetensors"
LOW = f"{CDN}/abc-u1_t2v_A14B_separate_low_noise_lora_0f1e.safetensors"
ONE = f"{CDN}/abc_lora_77.safetensors"
BOTH = {"high_noise_lora": HIGH, "low_noise_lora": LOW}


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        pytest.param([HIGH, LOW], BOTH, id="list of two URLs"),
        pytest.param([LOW, HIGH], BOTH, id="order does not matter"),
        pytest.param([ONE], {"lora": ONE}, id="single URL"),
        pytest.param([BOTH], BOTH, id="list with an object"),
        pytest.param(BOTH, BOTH, id="bare object"),
        pytest.param([json.dumps(BOTH)], BOTH, id="JSON-encoded object in a list"),
        pytest.param(json.dumps([HIGH, LOW]), BOTH, id="JSON-encoded list"),
        pytest.param([json.dumps(HIGH), json.dumps(LOW)], BOTH, id="JSON-encoded strings"),
        pytest.param(json.dumps(json.dumps(BOTH)), BOTH, id="doubly encoded"),
        pytest.param([{"lora": ONE}], {"lora": ONE}, id="object with lora"),
        pytest.param([{"url": ONE}], {"lora": ONE}, id="object with url"),
        pytest.param(
            [ONE, f"{CDN}/b.safetensors"],
            {"lora": ONE, "lora_2": f"{CDN}/b.safetensors"},
            id="two unclassified URLs",
        ),
        pytest.param([HIGH, HIGH, LOW], BOTH, id="repeats dropped"),
        pytest.param(
            [f"{CDN}/x-high-noise.safetensors"],
            {"high_noise_lora": f"{CDN}/x-high-noise.safetensors"},
            id="hyphenated marker",
        ),
        pytest.param([" " + ONE + " "], {"lora": ONE}, id="whitespace"),
        pytest.param([], {}, id="empty"),
        pytest.param(None, {}, id="null"),
        pytest.param(["not a url", 3, None, {"other": "x"}, "[broken json"], {}, id="junk ignored"),
        pytest.param(["ftp://host/x.safetensors"], {}, id="non-http scheme ignored"),
    ],
)
def test_shapes(outputs: object, expected: dict[str, str]) -> None:
    assert parse_lora_outputs(outputs) == expected


def test_named_keys_win_over_loose_urls() -> None:
    assert parse_lora_outputs([BOTH, HIGH]) == BOTH


def test_output_order_is_stable() -> None:
    assert list(parse_lora_outputs([LOW, ONE, HIGH])) == ["high_noise_lora", "low_noise_lora", "lora"]


def test_classification_uses_the_file_name_only() -> None:
    assert classify_url("https://high_noise.example/path/x.safetensors") == "lora"
    assert classify_url(HIGH) == "high_noise_lora"
    assert classify_url(LOW + "?Expires=1") == "low_noise_lora"
    assert classify_url("https://cdn/x%5Flow%5Fnoise.safetensors") == "low_noise_lora"


def test_missing_loras() -> None:
    assert missing_loras({"high_noise_lora": HIGH}, ("high_noise_lora", "low_noise_lora")) == [
        "low_noise_lora"
    ]
    assert missing_loras({"lora": ONE}, ("lora",)) == []
