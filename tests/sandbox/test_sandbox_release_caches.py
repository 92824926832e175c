"""The emulator's caches can be dropped between requests (a plan drops them after its refresh).

`Sandbox.release_caches()` forgets the DashScope emulator's cached jobs; the next request rebuilds
them from the table and answers byte for byte as before. `Workspace.plan()` calls it once the
refresh is done (the planner asks no provider anything), so the cache does not share the
process's peak with the planner's objects; an apply keeps it for executing.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.render import plan_to_text
from reconciler.sandbox import Sandbox
from reconciler.sandbox.dashscope import fine_tunes
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

AUTH = {"Authorization": "Bearer sk-test"}
DATA = Path(__file__).resolve().parents[2] / "manifests" / "quickstart" / "data" / "money-rain"
MANIFESTS = """\
apiVersion: reconciler/v1
kind: Provider
metadata: {name: dashscope}
spec: {type: dashscope, endpoint: sandbox}
---
apiVersion: reconciler/v1
kind: Dataset
metadata: {name: shared-train}
spec: {provider: dashscope, source: data, format: i2v}
"""
FINE_TUNE = """\
---
apiVersion: reconciler/v1
kind: FineTune
metadata: {{name: ft-{i:02d}}}
spec:
  provider: dashscope
  model: wan2.5-i2v-preview
  training_datasets: [shared-train]
  hyper_parameters: {{n_epochs: {epochs}}}
"""


def write_fine_tunes(root: Path, count: int) -> None:
    root.mkdir(parents=True)
    (root / "data").symlink_to(DATA, target_is_directory=True)
    (root / "all.yaml").write_text(
        MANIFESTS + "".join(FINE_TUNE.format(i=i, epochs=10 + i) for i in range(count))
    )


@pytest.fixture(autouse=True)
def _no_sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("RECONCILER_SANDBOX_TIME_SCALE", raising=False)


def _applied(tmp_path: Path, count: int = 3) -> tuple[Workspace, Sandbox, FakeClock]:
    root = tmp_path / "m"
    write_fine_tunes(root, count)
    clock = FakeClock()
    sandbox = Sandbox(clock=clock, seed=3, time_scale=1e9)
    ws = Workspace([root], clock=clock, wiring=WiringContext(env={}, clock=clock, sandbox=sandbox))
    _, result = ws.apply(ws.plan())
    assert result is not None and result.ok
    return ws, sandbox, clock


def test_released_jobs_are_rebuilt_and_listed_byte_for_byte_as_before(tmp_path: Path) -> None:
    _, sandbox, _ = _applied(tmp_path)
    http = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox", headers=AUTH)
    try:
        before = http.get("/api/v1/fine-tunes", params={"page_size": 100}).json()
        assert sandbox.store in fine_tunes._jobs_cache
        sandbox.release_caches()
        assert sandbox.store not in fine_tunes._jobs_cache
        after = http.get("/api/v1/fine-tunes", params={"page_size": 100}).json()
        assert sandbox.store in fine_tunes._jobs_cache  # rebuilt by the request that needed it
    finally:
        http.close()
        sandbox.close()
    assert len(before["output"]["jobs"]) == 3
    before.pop("request_id"), after.pop("request_id")  # (one per request)
    assert after == before


def test_a_plan_releases_the_emulators_caches_after_its_refresh_and_plans_the_same(tmp_path: Path) -> None:
    ws, sandbox, _ = _applied(tmp_path)
    try:
        assert sandbox.store in fine_tunes._jobs_cache  # the apply kept it to the end
        first = ws.plan()
        assert sandbox.store not in fine_tunes._jobs_cache
        assert first.refreshed and not first.errors
        second = ws.plan()  # the refresh rebuilt the cache; the same plan again
        assert sandbox.store not in fine_tunes._jobs_cache
        assert plan_to_text(second) == plan_to_text(first)
        assert "No changes" in plan_to_text(first)
    finally:
        sandbox.close()


def test_a_plan_without_refresh_never_starts_the_emulator_to_release_it(tmp_path: Path) -> None:
    root = tmp_path / "m"
    write_fine_tunes(root, 1)
    clock = FakeClock()
    wiring = WiringContext(env={}, clock=clock)
    Workspace([root], clock=clock, wiring=wiring).plan(refresh=False)
    assert wiring.sandbox is None
