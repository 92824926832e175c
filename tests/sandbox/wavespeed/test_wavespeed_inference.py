"""The LoRA inference models the sandbox emulates (seeds 001 and 004): every documented parameter
range is refused with HTTP 400 and creates nothing; an accepted render follows the seeds'
response shape and serves real media."""

from __future__ import annotations

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox

WAN = "/api/v3/wavespeed-ai/wan-2.2/t2v-720p-lora-ultra-fast"
QWEN = "/api/v3/wavespeed-ai/qwen-image/edit-plus-lora"
LORA = {"path": "https://example.com/a.safetensors", "scale": 1.0}
IMAGE = "https://example.com/in.png"


def _lora_list(n: int) -> list[dict]:
    return [dict(LORA) for _ in range(n)]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (WAN, {}, "prompt is required"),
        (WAN, {"prompt": "x", "size": "1920*1080"}, "size must be one of 1280*720, 720*1280"),
        (WAN, {"prompt": "x", "duration": 6}, "duration must be 5 or 8"),
        (WAN, {"prompt": "x", "seed": -2}, "seed must be between -1 and 2147483647"),
        (WAN, {"prompt": "x", "seed": 2147483648}, "seed must be between -1 and 2147483647"),
        (WAN, {"prompt": "x", "loras": _lora_list(4)}, "loras accepts at most 3 items"),
        (WAN, {"prompt": "x", "high_noise_loras": _lora_list(4)}, "high_noise_loras accepts at most 3"),
        (WAN, {"prompt": "x", "low_noise_loras": _lora_list(4)}, "low_noise_loras accepts at most 3"),
        (WAN, {"prompt": "x", "loras": [{"path": "p", "scale": 4.01}]}, "scale must be between 0.0 and 4.0"),
        (WAN, {"prompt": "x", "loras": [{"path": "p", "scale": -0.1}]}, "scale must be between 0.0 and 4.0"),
        (WAN, {"prompt": "x", "loras": [{"scale": 1}]}, "loras[0].path is required"),
        (WAN, {"prompt": "x", "loras": [{"path": "p"}]}, "loras[0].scale is required"),
        (WAN, {"prompt": "x", "images": [IMAGE]}, "Unknown parameter(s): images"),
        (QWEN, {"prompt": "x"}, "images is required"),
        (QWEN, {"prompt": "x", "images": [IMAGE] * 4}, "images accepts at most 3 items"),
        (QWEN, {"images": [IMAGE]}, "prompt is required"),
        (QWEN, {"prompt": "x", "images": [IMAGE], "size": "255*512"}, "between 256 and 1536 per dimension"),
        (QWEN, {"prompt": "x", "images": [IMAGE], "size": "512*1537"}, "between 256 and 1536 per dimension"),
        (QWEN, {"prompt": "x", "images": [IMAGE], "output_format": "gif"}, "output_format must be one of"),
        (QWEN, {"prompt": "x", "images": [IMAGE], "loras": _lora_list(4)}, "loras accepts at most 3 items"),
        (QWEN, {"prompt": "x", "images": [IMAGE], "duration": 5}, "Unknown parameter(s): duration"),
        (
            QWEN,
            {"prompt": "x", "images": [IMAGE], "enable_sync_mode": "yes"},
            "enable_sync_mode must be a boolean",
        ),
    ],
)
def test_documented_ranges_are_refused_and_create_nothing(
    http: httpx.Client, sandbox: Sandbox, path: str, body: dict, message: str
) -> None:
    r = http.post(path, json=body)
    assert r.status_code == 400
    assert r.json()["code"] == 400 and message in r.json()["message"]
    assert sandbox.list_objects("wavespeed_predictions") == []


@pytest.mark.parametrize(
    ("path", "body", "magic"),
    [
        (WAN, {"prompt": "x", "high_noise_loras": _lora_list(3), "low_noise_loras": _lora_list(3)}, b"ftyp"),
        (QWEN, {"prompt": "x", "images": [IMAGE] * 3, "size": "256*1536", "output_format": "webp"}, b"WEBP"),
        (QWEN, {"prompt": "x", "images": [IMAGE], "loras": _lora_list(3)}, b"JFIF"),
    ],
)
def test_an_accepted_render_has_the_seed_shape_and_real_media(
    http: httpx.Client, clock: FakeClock, path: str, body: dict, magic: bytes
) -> None:
    created = http.post(path, json=body).json()
    assert created["code"] == 200 and created["message"] == "success"
    data = created["data"]
    assert set(data) >= {
        "id",
        "model",
        "outputs",
        "urls",
        "has_nsfw_contents",
        "status",
        "created_at",
        "error",
        "timings",
    }
    assert data["status"] == "created" and data["outputs"] == []
    assert data["model"] == "wavespeed-ai/" + path.split("/wavespeed-ai/", 1)[1]
    clock.advance(600)
    done = http.get(f"/api/v3/predictions/{data['id']}/result").json()["data"]
    assert done["status"] == "completed" and len(done["outputs"]) == 1
    media = http.get(done["outputs"][0].removeprefix("http://127.0.0.1"))
    assert media.status_code == 200 and magic in media.content[:16]


def test_a_lora_from_this_sandbox_that_no_longer_exists_fails_the_render(
    http: httpx.Client, clock: FakeClock
) -> None:
    gone = "http://127.0.0.1/sandbox-files/wavespeed/outputs/nope/nope_lora.safetensors"
    created = http.post(WAN, json={"prompt": "x", "loras": [{"path": gone, "scale": 1}]}).json()["data"]
    clock.advance(600)
    done = http.get(f"/api/v3/predictions/{created['id']}/result").json()["data"]
    assert done["status"] == "failed" and "Failed to load LoRA" in done["error"]
