"""The official `wavespeed` SDK (which we did not write) against the emulator served over real HTTP,
in both fidelity modes: the documented shapes must be enough for it."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.clock import SYSTEM_CLOCK
from reconciler.sandbox import RunningServer, Sandbox, serve

wavespeed = pytest.importorskip("wavespeed")

MODEL = "wavespeed-ai/wan-2.2-image-lora-trainer"


@pytest.fixture(params=["permissive", "documented"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Sandbox, RunningServer]]:
    # Real clock (the SDK sleeps for real), time compressed so a 1000-step training takes ~1 ms.
    sb = Sandbox(clock=SYSTEM_CLOCK, time_scale=1_000_000.0, seed=3, fidelity=request.param)
    server = serve(sb)
    yield sb, server
    server.shutdown()
    sb.close()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "money-rain.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(10):
            zf.writestr(f"img{i}.png", b"\x89PNG" + bytes([i]) * 32)
            zf.writestr(f"img{i}.txt", "p3r5on money rain")
    return path


def test_sdk_upload_submit_result(served: tuple[Sandbox, RunningServer], dataset: Path) -> None:
    sandbox, server = served
    client = wavespeed.Client(api_key="sdk-key", base_url=server.url, max_connection_retries=0)

    url = client.upload(str(dataset))  # ticket POST, then a PUT of the bytes to the pre-signed URL
    assert url.startswith(server.url) and url.endswith(".zip")
    assert url.endswith("/money-rain.zip") is (sandbox.fidelity == "permissive")  # documented: opaque

    output = client.run(
        MODEL,
        {"data": url, "trigger_word": "p3r5on", "steps": 1000, "learning_rate": 0.0002, "lora_rank": 32},
        poll_interval=0.05,
        timeout=30,
    )
    assert len(output["outputs"]) == 2
    assert "_high_noise_lora_" in output["outputs"][0] and "_low_noise_lora_" in output["outputs"][1]

    prediction = sandbox.list_objects("wavespeed_predictions")[0]
    result = client.get_result(prediction["id"])
    assert result["code"] == 200 and result["data"]["status"] == "completed"
    assert result["data"]["outputs"] == output["outputs"]

    counts = sandbox.request_counts()
    assert counts["POST /api/v3/media/uploads"] == 1
    assert counts["PUT /sandbox-files/wavespeed/uploads/{upload_id}"] == 1
    assert counts["POST /api/v3/wavespeed-ai/{trainer}"] == 1


def test_sdk_sees_validation_errors_and_failures(served: tuple[Sandbox, RunningServer]) -> None:
    _, server = served
    client = wavespeed.Client(api_key="sdk-key", base_url=server.url, max_connection_retries=0)
    with pytest.raises(RuntimeError, match="HTTP 400.*steps must be between 1000 and 10000"):
        client.run(MODEL, {"data": "https://x/y.zip", "steps": 10}, poll_interval=0.05, timeout=10)
    with pytest.raises(RuntimeError, match="HTTP 401"):
        wavespeed.Client(api_key=" ", base_url=server.url).run(MODEL, {"data": "https://x/y.zip"}, timeout=10)
    missing = server.url + "/sandbox-files/wavespeed/media/nope/x.zip"
    with pytest.raises(RuntimeError, match="failed.*HTTP 404"):
        client.run(MODEL, {"data": missing}, poll_interval=0.05, timeout=10)
