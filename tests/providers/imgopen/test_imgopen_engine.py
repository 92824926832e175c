"""The ImgOpen example through the real engine (Workspace) and the in-process sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from imgopen_fakes import imgopen_sandbox

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.plans import ActionType
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "manifests" / "examples" / "imgopen"
FT = "FineTune/watercolor-cats"
DS = "Dataset/watercolor-cats"
SUBMIT = "POST /AIGCImgOpenServ/saas/modelTraining/submitTraining/Job"
QUERY = "POST /AIGCImgOpenServ/saas/modelTraining/queryTrainingResult"


@dataclass
class Env:
    root: Path
    clock: FakeClock
    sandbox: Sandbox
    transports: dict[str, Any]

    def workspace(self) -> Workspace:
        ctx = WiringContext(env={}, clock=self.clock, sandbox=self.sandbox, transports=dict(self.transports))
        return Workspace([self.root], clock=self.clock, wiring=ctx)

    def tasks(self) -> list[dict[str, Any]]:
        return self.sandbox.list_objects("imgopen_tasks")


@pytest.fixture
def env(example_copy: Callable[..., Path]) -> Iterator[Env]:
    root = example_copy(EXAMPLE)
    clock = FakeClock()
    sb = imgopen_sandbox(clock)
    yield Env(root, clock, sb, {})
    sb.close()


def actions(plan: Any) -> dict[str, ActionType]:
    return {a.address: a.action for a in plan.actions}


def test_apply_converges_then_plans_are_empty(env: Env) -> None:
    ws = env.workspace()
    # an ImgOpen dataset is only its URL list: nothing remote, so discovery always "finds" it
    assert actions(ws.plan()) == {DS: ActionType.ADOPT, FT: ActionType.CREATE}
    _, result = ws.apply()
    assert result.ok, result.outcomes
    (task,) = env.tasks()
    assert task["status"] == 2 and len(task["fileUrlList"]) == 12
    outputs = ws.outputs()
    assert outputs[FT]["task_id"] == task["taskId"] and outputs[FT]["lora_url"].endswith("/lora.safetensors")
    assert outputs[DS]["count"] == 12
    assert not ws.plan().has_changes
    ws.refresh()
    env.sandbox.reset_counts()
    assert not ws.plan().has_changes
    assert env.sandbox.request_counts() == {QUERY: 1}  # the dataset costs nothing, the training one query


def test_a_lost_state_adopts_the_task_instead_of_training_again(env: Env) -> None:
    env.workspace().apply()
    for p in (env.root / ".reconciler").glob("state.db*"):
        p.unlink()
    ws = env.workspace()
    plan = ws.plan()
    assert actions(plan) == {DS: ActionType.ADOPT, FT: ActionType.ADOPT}  # found by its deterministic taskId
    assert "found on imgopen by fingerprint" in next(a.reason for a in plan.actions if a.address == FT)
    env.sandbox.reset_counts()
    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert SUBMIT not in env.sandbox.request_counts()
    assert len(env.tasks()) == 1 and not ws.plan().has_changes


def test_lost_submit_responses_are_resolved_by_task_id(env: Env) -> None:
    env.transports["imgopen"] = env.sandbox.transport(
        FaultConfig(rules=[FaultRule(match=SUBMIT, rate_lost_response=1.0)])
    )
    ws = env.workspace()
    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert len(env.tasks()) == 1
    assert not ws.plan().has_changes


def test_a_failed_training_is_drift_and_is_retrained_under_a_new_task_id(env: Env) -> None:
    env.transports["imgopen"] = env.sandbox.transport(FaultConfig(fail_jobs=1.0))
    _, result = env.workspace().apply()
    assert not result.ok
    env.transports.clear()
    ws = env.workspace()
    plan = ws.plan()
    assert actions(plan)[FT] is ActionType.REPLACE
    reason = next(a.reason for a in plan.actions if a.address == FT)
    assert "loss diverged" in reason
    _, result = ws.apply()
    assert result.ok, result.outcomes
    first, second = env.tasks()
    assert first["status"] == 4 and second["status"] == 2 and second["taskId"] == first["taskId"] + "-r1"
    assert ws.outputs()[FT]["task_id"] == second["taskId"] and not ws.plan().has_changes


def test_a_changed_hyper_parameter_retrains_and_destroy_only_forgets(env: Env) -> None:
    env.workspace().apply()
    path = env.root / "watercolor-cats.yaml"
    path.write_text(path.read_text().replace("maxEpochs: 20", "maxEpochs: 30"))
    ws = env.workspace()
    assert actions(ws.plan())[FT] is ActionType.REPLACE
    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert [t["fields"]["maxEpochs"] for t in env.tasks()] == [20, 30]
    env.sandbox.reset_counts()
    _, result = ws.apply(destroy=True)
    assert result.ok, result.outcomes
    assert ws.outputs() == {}
    assert SUBMIT not in env.sandbox.request_counts() and len(env.tasks()) == 2  # nothing remote is deleted


def test_destroying_a_running_training_forgets_it_without_waiting(env: Env) -> None:
    ws = env.workspace()
    _, result = ws.apply(wait=False)
    assert result is not None and result.ok, result.outcomes
    plan = ws.plan(destroy=True)
    # still training ("1"/"3"), but ImgOpen can neither cancel nor delete it: planned as a forget, saying why
    assert actions(plan)[FT] is ActionType.FORGET
    assert "forgotten, not deleted: ImgOpen has no delete or cancel API" in next(
        a.reason for a in plan.actions if a.address == FT
    )
    started = env.clock.now()
    _, result = ws.apply(destroy=True)
    assert result is not None and result.ok, result.outcomes
    assert env.clock.now() - started < 1.0  # …but ImgOpen cannot: it is forgotten at once
    assert ws.outputs() == {}
    (task,) = env.tasks()
    assert task["status"] in (1, 3)  # it keeps going on ImgOpen
