"""Samples on WaveSpeed end to end, against the documented-fidelity sandbox: the example's two
renders (seeds 001 and 004), re-render on a retrain (lineage), spec changes, a lost submit
response, downloads with sha256, and the plan's price line."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.plans import ActionType
from reconciler.render import plan_to_text
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "manifests" / "examples" / "wavespeed"
TURNTABLE, RECOLOR = "Sample/product-shots-turntable", "Sample/product-shots-recolor"
WAN_ROUTE = "POST /api/v3/wavespeed-ai/wan-2.2/t2v-720p-lora-ultra-fast"


@pytest.fixture
def root(tmp_path: Path, clean_sandbox_env: None) -> Path:
    target = tmp_path / "wavespeed"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".reconciler"))
    return target


@pytest.fixture
def sandbox(clean_sandbox_env: None, clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=600.0, fidelity="documented")
    yield sb
    sb.close()


def workspace(root: Path, clock: FakeClock, sandbox: Sandbox, faults: FaultConfig | None = None) -> Workspace:
    wiring = WiringContext(env={}, clock=clock, sandbox=sandbox)
    if faults is not None:
        wiring.transports["wavespeed"] = sandbox.transport(faults=faults)
    return Workspace([root], clock=clock, wiring=wiring)


def predictions(sandbox: Sandbox, *, live: bool = True) -> dict[str, dict]:
    return {p["id"]: p for p in sandbox.list_objects("wavespeed_predictions") if not (live and p["_deleted"])}


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_example_renders_with_its_trained_loras_through_both_seed_models(root, clock, sandbox):
    ws = workspace(root, clock, sandbox)
    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert not ws.plan().has_changes
    records = ws.records()
    preds = predictions(sandbox)
    assert len(preds) == 4  # two trainings, two renders: one object per resource

    wan = preds[records[TURNTABLE].remote_id]
    ft = records["FineTune/product-shots"].outputs
    assert wan["model"] == "wavespeed-ai/wan-2.2/t2v-720p-lora-ultra-fast"
    assert wan["input"] == {
        "prompt": "p3r5on product on a slowly turning white turntable, soft studio light",
        "negative_prompt": "blurry, text, watermark",
        "size": "1280*720",
        "duration": 5,
        "seed": 42,
        "loras": [],
        # a Wan 2.2 trainer's two LoRAs go to their noise lists (seed 001)
        "high_noise_loras": [{"path": ft["high_noise_lora"], "scale": 1.0}],
        "low_noise_loras": [{"path": ft["low_noise_lora"], "scale": 1.0}],
    }
    qwen = preds[records[RECOLOR].remote_id]
    assert qwen["model"] == "wavespeed-ai/qwen-image/edit-plus-lora"
    assert qwen["input"]["loras"] == [
        {"path": records["FineTune/product-shots-qwen"].outputs["lora"], "scale": 0.8}
    ]
    assert qwen["input"]["images"] == ["https://example.com/product-shots/shot_01.png"]
    assert (qwen["input"]["output_format"], qwen["input"]["size"]) == ("png", "1024*1024")

    # recorded in state: the media URL, its type, and what it was rendered with
    out = records[TURNTABLE]
    assert out.outputs["media"] == wan["outputs"][0] and out.outputs["media_type"] == "video"
    assert out.built_from == {"FineTune/product-shots": records["FineTune/product-shots"].remote_id}
    assert records[RECOLOR].outputs["media"].endswith(".png")


def test_a_retrain_renders_the_sample_again_with_the_new_lora(root, clock, sandbox):
    ws = workspace(root, clock, sandbox)
    ws.apply()
    old = ws.records()
    edit(root, "product-shots.yaml", "steps: 1000", "steps: 1200")
    plan = workspace(root, clock, sandbox).plan()
    by = {a.address: a for a in plan.actions}
    assert by["FineTune/product-shots"].action is ActionType.REPLACE
    sample = by[TURNTABLE]
    assert sample.action is ActionType.REPLACE and sample.change_class.value == "re-render"
    assert "FineTune/product-shots is retrained (new model)" in sample.reason
    assert by[RECOLOR].action is ActionType.NOOP  # its LoRA is the other FineTune's
    text = plan_to_text(plan, width=300)
    # seed 001 prints no price for the Wan model: unknown, never 0
    assert (
        "cost: unknown (no known price for wavespeed-ai/wan-2.2/t2v-720p-lora-ultra-fast on wavespeed" in text
    )

    _, result = workspace(root, clock, sandbox).apply()
    assert result.ok, result.outcomes
    new = workspace(root, clock, sandbox).records()
    assert new[TURNTABLE].remote_id != old[TURNTABLE].remote_id
    preds = predictions(sandbox)
    assert old[TURNTABLE].remote_id not in preds  # the old render was deleted, not left behind
    rendered = preds[new[TURNTABLE].remote_id]["input"]
    assert rendered["high_noise_loras"][0]["path"] == new["FineTune/product-shots"].outputs["high_noise_lora"]
    assert new[TURNTABLE].built_from == {"FineTune/product-shots": new["FineTune/product-shots"].remote_id}
    assert not workspace(root, clock, sandbox).plan().has_changes


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("seed: 42", "seed: 43", "seed"),
        ("lora_scale: 1.0", "lora_scale: 2.5", "lora_scale"),
        ("duration: 5", "duration: 8", "duration"),
    ],
)
def test_a_spec_change_re_renders_only_that_sample(root, clock, sandbox, old, new, path):
    workspace(root, clock, sandbox).apply()
    edit(root, "samples.yaml", old, new)
    by = {a.address: a for a in workspace(root, clock, sandbox).plan().actions}
    assert by[TURNTABLE].action is ActionType.REPLACE
    assert [c.path for c in by[TURNTABLE].changes] == [path]
    assert {a for a, x in by.items() if x.action is not ActionType.NOOP} == {TURNTABLE}


def test_a_lost_render_response_is_found_in_the_history_not_resent(root, clock, sandbox):
    workspace(root, clock, sandbox).apply()
    edit(root, "samples.yaml", "seed: 42", "seed: 43")
    sandbox.reset_counts()
    lossy = FaultConfig(rules=[FaultRule(match=WAN_ROUTE, rate_lost_response=1.0)])
    _, result = workspace(root, clock, sandbox, lossy).apply()
    assert result.ok, result.outcomes
    assert sandbox.request_counts()[WAN_ROUTE] == 1  # never re-sent
    renders = [p for p in predictions(sandbox).values() if p["model"].endswith("t2v-720p-lora-ultra-fast")]
    assert [p["input"]["seed"] for p in renders] == [43]
    assert workspace(root, clock, sandbox).records()[TURNTABLE].remote_id == renders[0]["id"]
    assert not workspace(root, clock, sandbox).plan().has_changes


def test_outputs_download_with_their_sha256_recorded(root, clock, sandbox, tmp_path):
    ws = workspace(root, clock, sandbox)
    ws.apply()
    done = ws.download_outputs(tmp_path / "dl")
    media = done[TURNTABLE]["media"]
    data = Path(media["path"]).read_bytes()
    assert media["sha256"] == hashlib.sha256(data).hexdigest() and media["bytes"] == len(data)
    assert data[4:8] == b"ftyp"  # the sandbox renders a real MP4
    assert Path(done[RECOLOR]["media"]["path"]).read_bytes().startswith(b"\x89PNG")
    recorded = workspace(root, clock, sandbox).records()[TURNTABLE].outputs["downloads"]["media"]
    assert recorded["sha256"] == media["sha256"]
    # the LoRAs too, as before
    assert set(done["FineTune/product-shots"]) == {"high_noise_lora", "low_noise_lora"}


def test_the_plan_prices_each_render(root, clock, sandbox):
    plan = workspace(root, clock, sandbox).plan()
    by = {a.address: a for a in plan.actions}
    recolor = by[RECOLOR].cost
    assert (recolor.money, recolor.currency, recolor.per) == (0.025, "USD", "image")
    assert recolor.quantities["image"] == 1.0 and "seed 004" in recolor.price_source
    turntable = by[TURNTABLE].cost
    assert turntable.money is None and "wan-2.2/t2v-720p-lora-ultra-fast" in turntable.unknown  # never 0
    as_json = json.loads(plan.model_dump_json())
    assert any(a["address"] == RECOLOR and a["cost"]["money"] == 0.025 for a in as_json["actions"])
