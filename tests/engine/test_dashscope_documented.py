"""The DashScope chain end to end against the sandbox in `documented` fidelity.

The emulator answers with the least helpful documented shapes (files processed after a while,
hyper-parameters echoed as strings, no names on a checkpoint row before its export SUCCEEDED,
`<model>-<8 hex>-<suffix>` deployment ids): the chain still converges, a lost state is rebuilt by
adoption, and an export whose answer was lost is resumed by the next apply instead of failing it.
"""

from __future__ import annotations

import re

import pytest

from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.plans import ActionType
from reconciler.sandbox import Sandbox

CHAIN = [
    "Dataset/money-rain-train",
    "FineTune/money-rain",
    "CheckpointExport/money-rain-c600",
    "Deployment/money-rain",
]
EXPORT_ROUTE = "GET /api/v1/fine-tunes/{job_id}/export/{checkpoint}"


@pytest.fixture
def env(make_env):
    env = make_env()
    env.sandbox = Sandbox(clock=env.clock, seed=7, fidelity="documented")
    return env


def test_the_chain_converges_and_a_lost_state_is_adopted(env):
    env.edit("money-rain.yaml", "  capacity: 1\n", "  capacity: 1\n  suffix: blue\n")
    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    outputs = env.workspace().outputs()
    model = outputs["FineTune/money-rain"]["finetuned_output"]
    assert re.fullmatch(
        re.escape(model) + r"-[0-9a-f]{8}-blue", outputs["Deployment/money-rain"]["deployed_model"]
    )
    job = env.live("fine_tunes")[0]
    assert env.sandbox.list_objects("fine_tunes")  # introspection; the API itself echoes strings:
    assert (
        env.workspace().records()["FineTune/money-rain"].observed["hyper_parameters"]["learning_rate"]
        == "2.0E-5"
    )
    assert not env.workspace().plan().has_changes

    env.state_file.unlink()
    plan = env.workspace().plan()
    assert {a.address: a.action for a in plan.actions} == dict.fromkeys(CHAIN, ActionType.ADOPT)
    _, result = env.workspace().apply()
    assert result.ok
    assert not env.workspace().plan().has_changes
    assert env.workspace().records()["FineTune/money-rain"].remote_id == job["job_id"]
    for kind in ("files", "fine_tunes", "deployments"):
        assert len(env.live(kind)) == 1, kind


def test_an_export_whose_answer_was_lost_is_resumed_by_the_next_apply(env):
    # slow enough that the export is still in flight after the client's retries gave up
    env.sandbox = Sandbox(clock=env.clock, seed=7, fidelity="documented", time_scale=2.0)
    # the deployment serves the export, so nothing else keeps the clock running after it failed
    env.edit(
        "money-rain.yaml",
        "fine_tune: money-rain            # or:",
        "checkpoint_export: money-rain-c600  # or:",
    )
    lost = FaultConfig(seed=1, rules=[FaultRule(match=EXPORT_ROUTE, rate_lost_response=1.0)])
    ws = env.workspace()
    ws.wiring.transports["dashscope"] = env.sandbox.transport(faults=lost)
    _, result = ws.apply()
    assert not result.ok
    assert result.outcomes["CheckpointExport/money-rain-c600"].outcome.value == "failed"
    assert result.outcomes["Deployment/money-rain"].outcome.value == "skipped"
    sent = env.sandbox.request_counts()[EXPORT_ROUTE]
    assert sent >= 2  # committed, then re-sent (a GET, retried like a read) and refused — answers all lost
    checkpoints = [c for c in env.sandbox.list_objects("checkpoints") if c["checkpoint"] == "checkpoint-600"]
    assert checkpoints[0]["status"] in ("PENDING", "PROCESSING")

    for _ in range(2):  # every later run resumes it: it never fails on "already exported"
        _, result = env.workspace().apply()
        assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    exported = [c for c in env.sandbox.list_objects("checkpoints") if c["checkpoint"] == "checkpoint-600"]
    assert exported[0]["status"] == "SUCCEEDED" and exported[0]["model_display_name"] == "money-rain-c600"
    assert not env.workspace().plan().has_changes
