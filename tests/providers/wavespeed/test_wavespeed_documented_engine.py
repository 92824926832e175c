"""The WaveSpeed example through the engine against the emulator in `documented` fidelity: no input in
the history, opaque upload URLs, long `created` — recovery must still never train twice."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.plans import ActionType
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "manifests" / "examples" / "wavespeed"


@pytest.fixture
def root(tmp_path: Path, clean_sandbox_env: None) -> Path:
    target = tmp_path / "wavespeed"
    # the trainings alone: Samples are covered by test_wavespeed_samples.py
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".reconciler", "samples.yaml"))
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


def live(sandbox: Sandbox) -> list[dict]:
    return [p for p in sandbox.list_objects("wavespeed_predictions") if not p["_deleted"]]


def actions(ws: Workspace) -> dict[str, ActionType]:
    return {a.address: a.action for a in ws.plan().actions}


def test_apply_converges_on_the_documented_shapes(root: Path, clock: FakeClock, sandbox: Sandbox) -> None:
    ws = workspace(root, clock, sandbox)
    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert not ws.plan().has_changes
    url = ws.outputs()["Dataset/product-shots"]["url"]
    assert "product-shots" not in url.rsplit("/", 1)[-1]  # opaque: our file name is not in it
    assert len(live(sandbox)) == 1


def test_a_lost_submit_response_is_found_not_resent(root: Path, clock: FakeClock, sandbox: Sandbox) -> None:
    lossy = FaultConfig(rules=[FaultRule(match="POST /api/v3/wavespeed-ai/*", rate_lost_response=1.0)])
    ws = workspace(root, clock, sandbox, lossy)
    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert sandbox.request_counts()["POST /api/v3/wavespeed-ai/{trainer}"] == 1
    assert len(live(sandbox)) == 1
    assert not workspace(root, clock, sandbox).plan().has_changes


def test_a_dataset_with_no_state_is_uploaded_again_without_a_retrain(
    root: Path, clock: FakeClock, sandbox: Sandbox
) -> None:
    ws = workspace(root, clock, sandbox)
    ws.apply()
    trained = ws.records()["FineTune/product-shots"].remote_id
    ws.state_rm(["Dataset/product-shots"])
    assert actions(ws) == {
        "Dataset/product-shots": ActionType.CREATE,
        "FineTune/product-shots": ActionType.NOOP,
    }
    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert not ws.plan().has_changes
    assert [p["id"] for p in live(sandbox)] == [trained]
    assert len(sandbox.list_objects("wavespeed_uploads")) == 2


def test_a_lost_state_file_never_adopts_a_guess(root: Path, clock: FakeClock, sandbox: Sandbox) -> None:
    ws = workspace(root, clock, sandbox)
    ws.apply()
    trained = ws.records()["FineTune/product-shots"].remote_id
    ws.state_rm(["Dataset/product-shots", "FineTune/product-shots"])
    # nothing is provably ours: both are planned again (the plan's warning lists `trained` to import)
    assert actions(ws) == {
        "Dataset/product-shots": ActionType.CREATE,
        "FineTune/product-shots": ActionType.CREATE,
    }
    adapter = ws.adapters()["wavespeed"]
    desired = [d for d in _desired(ws) if d.kind == "FineTune"]
    report = adapter.unrecognised(desired, set())  # type: ignore[attr-defined]
    assert [c.remote_id for c in report["FineTune/product-shots"].candidates] == [trained]
    ws.import_resource("FineTune/product-shots", trained)
    assert actions(ws) == {
        "Dataset/product-shots": ActionType.CREATE,
        "FineTune/product-shots": ActionType.NOOP,
    }


def _desired(ws: Workspace) -> list:
    from reconciler.engine.identity import spec_hashes
    from reconciler.engine.refreshing import desired_of

    hashes = spec_hashes(ws.manifests)
    return [desired_of(r, hashes[r.address], {}) for r in ws.manifests]
