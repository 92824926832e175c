"""Crash consistency, end to end in process (DESIGN.md §3b): late commits, lineage, unsettled, replaces.

The deterministic kill-at-every-request suite is in `tests/crash/`; these pin the mechanisms one at
a time, each against the sandbox in documented fidelity.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.clock import FakeClock
from reconciler.engine.recovering import SETTLE_WINDOW_S
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.plans import ActionType
from reconciler.sandbox import Sandbox

FINE_TUNE = "FineTune/money-rain"


def _env_with(make_env, *rules: FaultRule):
    env = make_env()
    env.clock = FakeClock()
    env.sandbox = Sandbox(
        clock=env.clock, seed=5, fidelity="documented", faults=FaultConfig(seed=5, rules=list(rules))
    )
    return env


def _calm(env):
    """A workspace whose provider answers without faults (to inspect, or to finish)."""
    ws = env.workspace()
    ws.wiring.transports["dashscope"] = env.sandbox.transport(faults=FaultConfig())
    return ws


def _actions(plan):
    return {a.address + (f"#{a.deposed}" if a.deposed else ""): a for a in plan.actions}


def test_a_create_committed_after_the_client_timed_out_is_found_not_sent_twice(make_env):
    """The job lands 35 s after a request whose client gives up at 30 s: one job, one apply."""
    env = _env_with(
        make_env, FaultRule(match="POST /api/v1/fine-tunes", rate_late_commit=1.0, late_commit_delay_s=35.0)
    )
    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert env.sandbox.request_counts()["POST /api/v1/fine-tunes"] == 1
    assert len(env.live("fine_tunes")) == 1
    assert not _calm(env).plan().has_changes


def test_a_create_that_lands_after_the_settle_window_is_adopted_by_the_next_run(make_env):
    """Nothing appears within the window: the step stops (never re-sent); the next run finds it."""
    env = _env_with(
        make_env,
        FaultRule(
            match="POST /api/v1/fine-tunes", rate_late_commit=1.0, late_commit_delay_s=SETTLE_WINDOW_S + 200
        ),
    )
    _, result = env.workspace().apply()
    assert not result.ok
    message = result.outcomes[FINE_TUNE].message
    assert "not sent again" in message and f"reconciler state resolve {FINE_TUNE} --absent" in message
    assert env.sandbox.request_counts()["POST /api/v1/fine-tunes"] == 1
    env.clock.advance(300)
    plan, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert env.sandbox.request_counts()["POST /api/v1/fine-tunes"] == 1  # found, not created again
    assert len(env.live("fine_tunes")) == 1
    assert not _calm(env).plan().has_changes


def test_plan_holds_back_a_create_that_is_still_settling(make_env):
    """A killed run's create may still land: plan shows it as a change and never plans a second job."""
    env = _env_with(
        make_env,
        FaultRule(
            match="POST /api/v1/fine-tunes", rate_late_commit=1.0, late_commit_delay_s=SETTLE_WINDOW_S + 200
        ),
    )
    env.workspace().apply()  # leaves the row open: the job has not landed yet
    env.clock.advance(-SETTLE_WINDOW_S)  # as if the next run came straight after the kill
    plan = _calm(env).plan()
    action = _actions(plan)[FINE_TUNE]
    assert action.action is ActionType.WAIT and plan.has_changes
    assert "has not appeared on the provider yet" in action.reason


def test_an_expired_settle_window_with_nothing_found_creates_in_the_next_run(make_env):
    env = _env_with(make_env, FaultRule(match="POST /api/v1/fine-tunes", rate_timeout=1.0))  # never arrives
    _, result = env.workspace().apply()
    assert not result.ok
    assert len(env.sandbox.list_objects("fine_tunes")) == 0
    env.clock.advance(SETTLE_WINDOW_S)
    _, result = _calm(env).apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert len(env.live("fine_tunes")) == 1
    assert not _calm(env).plan().has_changes


def _apply_then_retrain(env):
    _, result = env.workspace().apply()
    assert result.ok
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 200")


def test_a_dependent_built_from_a_superseded_upstream_is_replaced_and_the_old_object_goes_last(make_env):
    """A kill after the new job exists left the export and deployment on the old job: plan says so."""
    env = _env_with(make_env)
    _, result = env.workspace().apply()
    assert result.ok
    ws = env.workspace()
    old = ws.records()[FINE_TUNE]
    # what a kill right after the replacement job was recorded leaves behind
    adapter = ws.adapters()["dashscope"]
    from reconciler.engine.refreshing import desired_of  # the engine's own way to build a Desired

    resource = ws.manifests.resources[FINE_TUNE]
    inputs = {d: ws.records()[d].outputs for d in resource.dependencies()}
    new_obs = adapter.create(desired_of(resource, old.spec_hash, inputs))
    store = ws.open_state(readonly=False)
    try:
        deposed = old.to_dict()
        deposed.pop("deposed")
        store.put(
            replace(
                old,
                remote_id=new_obs.remote_id,
                outputs=dict(new_obs.outputs),
                status=new_obs.status,
                deposed=[deposed],
            ),
            event="test: replaced, then killed",
        )
    finally:
        store.close()
    plan = env.workspace().plan()
    acts = _actions(plan)
    assert plan.has_changes
    for dependent in ("CheckpointExport/money-rain-c600", "Deployment/money-rain"):
        assert acts[dependent].action is ActionType.REPLACE, acts[dependent]
        assert f"{old.remote_id}, but {FINE_TUNE} is now {new_obs.remote_id}" in acts[dependent].reason
    old_delete = acts[f"{FINE_TUNE}#{old.remote_id}"]
    assert old_delete.action is ActionType.DELETE and old_delete.depends_on == [FINE_TUNE]

    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    records = env.workspace().records()
    assert records["Deployment/money-rain"].built_from[FINE_TUNE] == new_obs.remote_id
    live_jobs = {j["job_id"] for j in env.live("fine_tunes")}
    assert live_jobs == {new_obs.remote_id}
    (deployment,) = env.live("deployments")
    assert deployment["model_name"] == records[FINE_TUNE].outputs["finetuned_output"]
    assert not env.workspace().plan().has_changes


def test_a_training_nothing_depends_on_is_waited_for_not_passed_as_converged(make_env):
    env = _env_with(make_env)
    text = (env.root / "money-rain.yaml").read_text()
    (env.root / "money-rain.yaml").write_text(
        text.split("\n---\napiVersion: reconciler/v1\nkind: CheckpointExport")[0]
    )
    env.submit_training()
    plan = env.workspace().plan()
    assert _actions(plan)[FINE_TUNE].action is ActionType.WAIT and plan.has_changes
    _, result = env.workspace().apply()
    assert result.ok
    assert env.workspace().records()[FINE_TUNE].status == "SUCCEEDED"
    assert not env.workspace().plan().has_changes


def test_state_resolve_absent_lets_the_next_apply_create(make_env):
    env = _env_with(make_env, FaultRule(match="POST /api/v1/fine-tunes", rate_timeout=1.0))
    env.workspace().apply()
    ws = _calm(env)
    assert ws.state_resolve_absent(FINE_TUNE) == 1
    from reconciler.workspace import WorkspaceError

    with pytest.raises(WorkspaceError, match="no interrupted create"):
        ws.state_resolve_absent(FINE_TUNE)
    plan = _calm(env).plan()
    assert _actions(plan)[FINE_TUNE].action is ActionType.CREATE


def test_a_replace_whose_new_job_landed_late_is_resumed_not_trained_again(make_env):
    """The address is in state (the old job): recovery must still settle the replacement's row."""
    env = _env_with(make_env)
    _apply_then_retrain(env)
    late = FaultRule(
        match="POST /api/v1/fine-tunes", rate_late_commit=1.0, late_commit_delay_s=SETTLE_WINDOW_S + 200
    )
    ws = env.workspace()
    ws.wiring.transports["dashscope"] = env.sandbox.transport(faults=FaultConfig(seed=5, rules=[late]))
    _, result = ws.apply()
    assert not result.ok
    env.clock.advance(300)
    _, result = _calm(env).apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert env.sandbox.request_counts()["POST /api/v1/fine-tunes"] == 2  # the old job and one replacement
    (job,) = env.live("fine_tunes")
    records = env.workspace().records()
    assert records[FINE_TUNE].remote_id == job["job_id"]
    assert records["Deployment/money-rain"].built_from[FINE_TUNE] == job["job_id"]
    assert not _calm(env).plan().has_changes


def test_plan_without_refresh_shows_an_open_create_as_unsettled_not_as_no_changes(make_env):
    env = _env_with(make_env, FaultRule(match="POST /api/v1/fine-tunes", rate_timeout=1.0))
    env.workspace().apply()
    plan = env.workspace().plan(refresh=False)
    action = _actions(plan)[FINE_TUNE]
    assert action.action is ActionType.WAIT and plan.has_changes and not plan.errors
    assert "still open in the journal" in action.reason


def _landed_twice(env):
    """The create never answered, yet (as the provider may) it landed, twice."""
    _, result = env.workspace().apply()
    assert not result.ok
    ws = _calm(env)
    from reconciler.engine.refreshing import desired_of

    resource = ws.manifests.resources[FINE_TUNE]
    records = ws.records()
    inputs = {d: records[d].outputs for d in resource.dependencies()}
    adapter = ws.adapters()["dashscope"]
    desired = desired_of(resource, "", inputs)
    first = adapter.create(desired)
    env.clock.advance(2)
    second = adapter.create(desired)
    return first, second


def test_a_create_that_landed_twice_keeps_the_older_object_and_deletes_the_newer(make_env):
    """When the provider echoes every hyper-parameter sent, two matching jobs are provably one
    create landed twice. DashScope's documents show only five echoed (providers.md §4b), so this
    needs the permissive emulator, which echoes them all; in documented shapes it is a question
    (the next test)."""
    env = _env_with(make_env, FaultRule(match="POST /api/v1/fine-tunes", rate_timeout=1.0))
    env.sandbox = Sandbox(clock=env.clock, seed=5, fidelity="permissive", faults=env.sandbox.faults)
    first, second = _landed_twice(env)
    _, result = _calm(env).apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert {j["job_id"] for j in env.live("fine_tunes")} == {first.remote_id}
    assert env.workspace().records()[FINE_TUNE].remote_id == first.remote_id
    store = env.workspace().open_state(readonly=True)
    events = [e for e in store.events(FINE_TUNE) if e.event == "duplicate-found"]
    store.close()
    assert events and events[0].detail["deleting"] == [second.remote_id]
    assert not _calm(env).plan().has_changes


def test_two_objects_the_documents_cannot_tell_apart_stop_the_resource_with_the_commands(make_env):
    """lora_rank is not echoed (documented shapes): the two jobs might be different trainings."""
    env = _env_with(make_env, FaultRule(match="POST /api/v1/fine-tunes", rate_timeout=1.0))
    first, second = _landed_twice(env)
    plan, result = _calm(env).apply()
    assert result is None and plan.errors  # nothing is applied
    message = " ".join(e["message"] for e in plan.errors)
    assert first.remote_id in message and second.remote_id in message
    assert (
        f"reconciler import {FINE_TUNE} ID" in message
        and f"reconciler state resolve {FINE_TUNE} --absent" in message
    )
    assert len(env.live("fine_tunes")) == 2  # neither deleted nor a third created


def test_import_settles_an_interrupted_replace_and_keeps_the_old_object_deposed(make_env):
    """Two candidates: the user imports the right one; the old job goes once its dependents moved."""
    env = _env_with(make_env)
    _apply_then_retrain(env)
    old = env.workspace().records()[FINE_TUNE]
    never = FaultRule(match="POST /api/v1/fine-tunes", rate_timeout=1.0)
    ws = env.workspace()
    ws.wiring.transports["dashscope"] = env.sandbox.transport(faults=FaultConfig(seed=5, rules=[never]))
    ws.apply()  # the replacement's create never answers: its row stays open
    ws = _calm(env)
    from reconciler.engine.refreshing import desired_of

    resource = ws.manifests.resources[FINE_TUNE]
    records = ws.records()
    job = ws.adapters()["dashscope"].create(
        desired_of(resource, "", {d: records[d].outputs for d in resource.dependencies()})
    )
    record = ws.import_resource(FINE_TUNE, job.remote_id)
    assert record.remote_id == job.remote_id and [d["remote_id"] for d in record.deposed] == [old.remote_id]
    _, result = _calm(env).apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert {j["job_id"] for j in env.live("fine_tunes")} == {job.remote_id}
    assert env.workspace().records()["Deployment/money-rain"].built_from[FINE_TUNE] == job.remote_id
    assert not _calm(env).plan().has_changes


def test_a_replacement_that_lands_beside_a_twin_in_the_same_run_keeps_the_older(make_env):
    """In the run: the create timed out, and when it lands a twin of it is already there."""
    env = _env_with(make_env)
    env.sandbox = Sandbox(clock=env.clock, seed=5, fidelity="permissive")  # echoes every hyper-parameter
    _apply_then_retrain(env)
    ws = _calm(env)
    from reconciler.engine.identity import spec_hashes
    from reconciler.engine.refreshing import desired_of

    resource = ws.manifests.resources[FINE_TUNE]
    records = ws.records()
    desired = desired_of(
        resource,
        spec_hashes(ws.manifests)[FINE_TUNE],
        {d: records[d].outputs for d in resource.dependencies()},
    )
    twin = ws.adapters()["dashscope"].create(desired)  # the same spec, created 20 s before our request:
    env.clock.advance(20)  # inside the clock-skew margin, so it fits our look-up too
    late = FaultRule(match="POST /api/v1/fine-tunes", rate_late_commit=1.0, late_commit_delay_s=35.0)
    ws = env.workspace()
    ws.wiring.transports["dashscope"] = env.sandbox.transport(faults=FaultConfig(seed=5, rules=[late]))
    _, result = ws.apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert {j["job_id"] for j in env.live("fine_tunes")} == {twin.remote_id}
    store = env.workspace().open_state(readonly=True)
    events = [e for e in store.events(FINE_TUNE) if e.event == "duplicate-found"]
    store.close()
    assert events and events[0].detail["kept"] == twin.remote_id
    assert not _calm(env).plan().has_changes
