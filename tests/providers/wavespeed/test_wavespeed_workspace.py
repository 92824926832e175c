"""The WaveSpeed example end to end through the engine, against the in-process sandbox.

Until the lead wires WaveSpeed into `reconciler.wiring`, the factory below is added here; it is
the exact code proposed for `ADAPTER_FACTORIES[ProviderType.WAVESPEED]`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.models.plans import ActionType
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "manifests" / "examples" / "wavespeed"
WEEK = 7 * 24 * 3600.0


@pytest.fixture
def root(clean_sandbox_env: None, example_copy: Callable[..., Path]) -> Path:
    root = example_copy(EXAMPLE)
    (root / "samples.yaml").unlink()  # the trainings alone: Samples are covered by test_wavespeed_samples.py
    return root


def workspace(root: Path, clock: FakeClock, sandbox: Sandbox) -> Workspace:
    return Workspace([root], clock=clock, wiring=WiringContext(env={}, clock=clock, sandbox=sandbox))


def test_apply_converges_and_outputs_the_loras(root: Path, clock: FakeClock, sandbox: Sandbox) -> None:
    ws = workspace(root, clock, sandbox)
    plan = ws.plan()
    assert {a.address: a.action for a in plan.actions} == {
        "Dataset/product-shots": ActionType.CREATE,
        "FineTune/product-shots": ActionType.CREATE,
    }
    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert not ws.plan().has_changes
    ws.refresh()
    assert not ws.plan().has_changes
    outputs = ws.outputs()["FineTune/product-shots"]
    assert {"prediction_id", "high_noise_lora", "low_noise_lora", "outputs_expire_at"} <= set(outputs)

    # A lost state file: an upload cannot be found again (opaque URL, no listing) and the history
    # shows no inputs, so nothing is provably ours — the plan creates both (and lists the trainer's
    # unclaimed trainings: the adapter's `unrecognised`); importing the training settles it.
    prediction = outputs["prediction_id"]
    (root / ".reconciler" / "state.db").unlink()
    for extra in (root / ".reconciler").glob("state.db-*"):
        extra.unlink()
    fresh = workspace(root, clock, sandbox)
    assert {a.address: a.action for a in fresh.plan().actions} == {
        "Dataset/product-shots": ActionType.CREATE,
        "FineTune/product-shots": ActionType.CREATE,
    }
    fresh.import_resource("FineTune/product-shots", prediction)
    assert {a.address: a.action for a in fresh.plan().actions} == {
        "Dataset/product-shots": ActionType.CREATE,
        "FineTune/product-shots": ActionType.NOOP,
    }
    _, result = fresh.apply()
    assert result.ok, result.outcomes
    assert not fresh.plan().has_changes
    assert [p["id"] for p in sandbox.list_objects("wavespeed_predictions") if not p["_deleted"]] == [
        prediction
    ]
    assert len(sandbox.list_objects("wavespeed_uploads")) == 2  # uploaded again: cheap, and retrains nothing


def test_expired_outputs_plan_a_retrain(root: Path, clock: FakeClock, sandbox: Sandbox) -> None:
    ws = workspace(root, clock, sandbox)
    ws.apply()
    clock.advance(WEEK + 60)
    plan = ws.plan()
    by_address = {a.address: a for a in plan.actions}
    assert by_address["FineTune/product-shots"].action in (ActionType.CREATE, ActionType.REPLACE)
    assert by_address["FineTune/product-shots"].drift


def test_destroy_deletes_the_prediction(root: Path, clock: FakeClock, sandbox: Sandbox) -> None:
    ws = workspace(root, clock, sandbox)
    ws.apply()
    _, result = ws.apply(ws.plan(destroy=True))
    assert result.ok, result.outcomes
    assert all(p["_deleted"] for p in sandbox.list_objects("wavespeed_predictions"))
