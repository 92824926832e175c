"""The benchmark generator writes chains that load, plan as ≥ 800-step retrains, and converge.

Nothing here is timed: it only proves that what `benchmarks/run.py` measures is a valid manifest
set whose datasets really differ (so the benchmark uploads N distinct files, not one file N times).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.engine.outcomes import Outcome
from reconciler.models.plans import ActionType
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("benchmark_generate", REPO / "benchmarks" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def test_two_chains_plan_apply_and_converge(tmp_path: Path) -> None:
    gen = _generator()
    out = tmp_path / "bench"
    assert gen.generate(out, 2) == 8
    folders = sorted((out / "data").iterdir())
    assert len(folders) == 2 and _digest(folders[0]) != _digest(folders[1])

    clock = FakeClock()
    sandbox = Sandbox(clock=clock, seed=3)
    ws = Workspace([out], clock=clock, wiring=WiringContext(env={}, clock=clock, sandbox=sandbox))
    plan = ws.plan()
    assert not plan.errors, plan.errors
    assert sorted(a.address for a in plan.actions) == sorted(
        f"{kind}/bench-0000{i}{suffix}"
        for i in (1, 2)
        for kind, suffix in (
            ("Dataset", "-train"),
            ("FineTune", ""),
            ("CheckpointExport", "-c600"),
            ("Deployment", ""),
        )
    )
    assert {a.action for a in plan.actions} == {ActionType.CREATE}
    steps = [a.cost.training_steps for a in plan.actions if a.kind == "FineTune"]
    assert steps and all(s >= 800 for s in steps)

    _, result = ws.apply()
    assert result is not None and result.ok, result and result.outcomes
    assert {o.outcome for o in result.outcomes.values()} == {Outcome.SUCCEEDED}
    uploaded = [f for f in sandbox.list_objects("files") if not f.get("_deleted")]
    assert len(uploaded) == 2
    assert not ws.plan().has_changes


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    gen = _generator()
    out = tmp_path / "bench"
    gen.generate(out, 1)
    with pytest.raises(FileExistsError):
        gen.generate(out, 1)
    assert gen.generate(out, 1, force=True) == 4
