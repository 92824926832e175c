"""The DashScope chain against the in-process sandbox: apply, no-op plans, drift, replace, destroy, import."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.engine.outcomes import Outcome
from reconciler.models.changes import ChangeClass
from reconciler.models.plans import ActionType
from reconciler.providers.dashscope.client import DashScopeClient
from reconciler.state.interface import LockedError
from reconciler.workspace import StalePlanError

CHAIN = [
    "Dataset/money-rain-train",
    "FineTune/money-rain",
    "CheckpointExport/money-rain-c600",
    "Deployment/money-rain",
]


def actions(plan):
    return {a.address: a.action for a in plan.actions}


def client(env) -> DashScopeClient:
    return DashScopeClient("http://127.0.0.1", "test-key", transport=env.sandbox.transport(), clock=env.clock)


def test_apply_creates_the_chain_then_plans_are_empty(make_env):
    env = make_env()
    ws = env.workspace()
    plan = ws.plan()
    assert [a.address for a in plan.actions] == CHAIN
    assert set(actions(plan).values()) == {ActionType.CREATE}
    ft = next(a for a in plan.actions if a.kind == "FineTune")
    assert ft.cost is not None and ft.cost.training_steps == 900  # 150 epochs × ceil(12 / 2)

    _, result = ws.apply()
    assert result.ok, result.outcomes
    assert {o.outcome for o in result.outcomes.values()} == {Outcome.SUCCEEDED}
    for kind in ("files", "fine_tunes", "deployments"):
        assert len(env.live(kind)) == 1, kind

    assert not ws.plan().has_changes
    ws.refresh()
    assert not ws.plan().has_changes
    outputs = ws.outputs()
    assert outputs["Deployment/money-rain"]["deployed_model"].startswith("wan2.5-i2v-preview-ft-")
    assert outputs["CheckpointExport/money-rain-c600"]["model_name"].endswith("-c600")


def test_a_no_change_plan_makes_an_exact_number_of_requests(make_env):
    env = make_env()
    ws = env.workspace()
    ws.apply()
    env.sandbox.reset_counts()
    assert not ws.plan().has_changes
    # files: 1 list page; job: 1 GET (≤ 2 jobs are read one by one); the SUCCEEDED export needs
    # nothing more (its job was just read); deployments: 1 list page.
    assert env.sandbox.request_counts() == {
        "GET /compatible-mode/v1/files": 1,
        "GET /api/v1/fine-tunes/{job_id}": 1,
        "GET /api/v1/deployments": 1,
    }


def test_plan_leaves_the_state_database_byte_for_byte_unchanged(make_env):
    env = make_env()
    ws = env.workspace()
    ws.apply()
    before = {p.name: p.read_bytes() for p in env.state_file.parent.iterdir() if p.name.startswith("state")}
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 200")
    plan = env.workspace().plan()
    assert plan.has_changes
    after = {p.name: p.read_bytes() for p in env.state_file.parent.iterdir() if p.name.startswith("state")}
    assert before == after


def test_plan_without_state_creates_no_state_file(make_env):
    env = make_env()
    env.workspace().plan()
    assert not env.state_file.exists()


def test_a_lost_state_file_is_rebuilt_by_adoption_not_duplicates(make_env):
    env = make_env()
    env.workspace().apply()
    env.state_file.unlink()
    plan = env.workspace().plan()
    assert set(actions(plan).values()) == {ActionType.ADOPT}
    assert not plan.has_changes  # adopting changes nothing on the provider
    assert all("fingerprint" in a.reason for a in plan.actions)
    _, result = env.workspace().apply()
    assert result.ok
    assert not env.workspace().plan().has_changes
    for kind in ("files", "fine_tunes", "deployments"):
        assert len(env.live(kind)) == 1, kind


def test_refresh_rebuilds_a_lost_state_by_storing_what_it_adopts(make_env):
    env = make_env()
    env.workspace().apply()
    before = {a: r.remote_id for a, r in env.workspace().records().items()}
    env.state_file.unlink()
    summary = env.workspace().refresh()
    assert sorted(summary.adopted) == sorted(before)
    assert {a: r.remote_id for a, r in env.workspace().records().items()} == before  # stored, not only shown
    assert not env.workspace().plan(refresh=False).has_changes


def test_a_hyper_parameter_change_retrains_and_cascades(make_env):
    env = make_env()
    env.workspace().apply()
    old_job = env.live("fine_tunes")[0]["job_id"]
    env.edit("money-rain.yaml", "learning_rate: 2.0e-5", "learning_rate: 1.0e-4")
    plan = env.workspace().plan()
    acts = {a.address: a for a in plan.actions}
    ft = acts["FineTune/money-rain"]
    assert ft.action is ActionType.REPLACE and ft.change_class is ChangeClass.RETRAIN
    assert "hyper_parameters.learning_rate 2e-05 → 0.0001 forces retrain" in ft.reason
    assert ft.cost is not None and ft.cost.estimated_gpu_hours and ft.cost.estimated_gpu_hours > 1
    assert acts["Dataset/money-rain-train"].action is ActionType.NOOP
    for addr in ("CheckpointExport/money-rain-c600", "Deployment/money-rain"):
        assert acts[addr].action is ActionType.REPLACE
        assert "FineTune/money-rain is retrained" in acts[addr].reason

    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    live_jobs = env.live("fine_tunes")
    assert [j["job_id"] for j in live_jobs] != [old_job] and len(live_jobs) == 1
    assert len(env.live("deployments")) == 1
    assert not env.workspace().plan().has_changes


def test_dataset_content_not_path_drives_retrain(make_env):
    env = make_env()
    env.workspace().apply()
    # moving the folder is not a change
    (env.root / "data" / "money-rain").rename(env.root / "data" / "moved")
    env.edit("money-rain.yaml", "source: data/money-rain", "source: data/moved")
    plan = env.workspace().plan()
    assert not plan.has_changes  # identity is the content, not the path
    # an edited caption is
    data = env.root / "data" / "moved" / "data.jsonl"
    data.write_text(data.read_text().replace("golden coins", "silver coins", 1))
    plan = env.workspace().plan()
    ds = next(a for a in plan.actions if a.address == "Dataset/money-rain-train")
    assert ds.action is ActionType.REPLACE
    assert ds.facts["files_modified"] == ["data.jsonl"]
    ft = next(a for a in plan.actions if a.address == "FineTune/money-rain")
    assert ft.action is ActionType.REPLACE and ft.change_class is ChangeClass.RETRAIN
    assert "Dataset/money-rain-train content changed" in ft.reason


def test_destroy_leaves_nothing_in_the_sandbox(make_env):
    env = make_env()
    env.workspace().apply()
    plan, result = env.workspace().apply(destroy=True)
    assert [a.address for a in plan.actions] == list(reversed(CHAIN))
    assert result.ok
    for kind in ("files", "fine_tunes", "deployments"):
        assert env.live(kind) == [], kind
    assert env.workspace().records() == {}


def test_import_reproduces_the_state(make_env):
    env = make_env()
    env.workspace().apply()
    before = env.workspace().records()
    env.state_file.unlink()
    ws = env.workspace()
    for address in CHAIN:
        ws.import_resource(address, before[address].remote_id)
    after = env.workspace().records()
    volatile = {"created_at", "updated_at", "observed_at", "observed"}
    for address in CHAIN:
        a = {k: v for k, v in before[address].to_dict().items() if k not in volatile}
        b = {k: v for k, v in after[address].to_dict().items() if k not in volatile}
        # the plan's cost estimate and the usage apply priced are apply's records, not the provider's
        a["outputs"] = {k: v for k, v in a["outputs"].items() if k not in ("cost_estimated", "cost_used")}
        assert a == b, address
    assert not env.workspace().plan().has_changes


def test_a_deployment_deleted_outside_is_drift(make_env):
    env = make_env()
    env.workspace().apply()
    deployed = env.live("deployments")[0]["deployed_model"]
    client(env).delete_deployment(deployed)
    env.clock.advance(600)
    plan = env.workspace().plan()
    dep = next(a for a in plan.actions if a.address == "Deployment/money-rain")
    assert dep.action is ActionType.CREATE and dep.drift
    assert "deleted outside reconciler" in dep.reason
    _, result = env.workspace().apply()
    assert result.ok
    assert not env.workspace().plan().has_changes


def test_prevent_destroy_turns_a_replace_into_an_error(make_env):
    env = make_env()
    env.workspace().apply()
    env.edit("money-rain.yaml", "prevent_destroy: false", "prevent_destroy: true")
    env.workspace().apply()  # a local change: recorded in state
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 300")
    plan = env.workspace().plan()
    assert plan.errors and "is set, but the plan would replace it" in plan.errors[0]["message"]
    _, result = env.workspace().apply()
    assert result is None  # refused before anything ran


def test_saved_plan_is_applied_exactly_and_refused_when_stale(make_env):
    env = make_env()
    ws = env.workspace()
    saved = ws.plan()
    _, result = ws.apply(saved)
    assert result.ok
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 160")
    stale = env.workspace().plan()
    env.edit("money-rain.yaml", "n_epochs: 160", "n_epochs: 170")
    env.workspace().apply()  # moves the serial
    with pytest.raises(StalePlanError, match="state changed since this plan was made"):
        env.workspace().apply(stale)


def test_a_second_apply_is_refused_while_the_lock_is_held(make_env):
    env = make_env()
    ws = env.workspace()
    ws.apply()
    store = ws.open_state(readonly=False)
    try:
        with store.lock("apply"), pytest.raises(LockedError) as refused:
            env.workspace().apply()
        message = str(refused.value)
        assert "pid" in message and "apply" in message and "force-unlock" in message
    finally:
        store.close()


def test_removed_with_retain_is_forgotten_and_left_running(make_env):
    env = make_env()
    env.workspace().apply()
    text = (env.root / "money-rain.yaml").read_text()
    head, sep, deployment = text.rpartition("---\n")
    (env.root / "money-rain.yaml").write_text(head)
    env.workspace().apply()  # deletes it
    assert env.live("deployments") == []
    (env.root / "money-rain.yaml").write_text(
        head + sep + deployment.replace("spec:\n", "lifecycle: {deletion: retain}\nspec:\n", 1)
    )
    env.workspace().apply()
    (env.root / "money-rain.yaml").write_text(head)
    plan = env.workspace().plan()
    assert actions(plan)["Deployment/money-rain"] is ActionType.FORGET
    env.workspace().apply()
    assert len(env.live("deployments")) == 1
    assert "Deployment/money-rain" not in env.workspace().records()


def test_no_wait_submits_and_the_next_apply_continues(make_env):
    env = make_env()
    _, result = env.workspace().apply(wait=False)
    # documented fidelity: the upload is still `processing`, so the job waits for the next run
    assert result.outcomes["Dataset/money-rain-train"].outcome is Outcome.SUBMITTED
    assert result.outcomes["FineTune/money-rain"].outcome is Outcome.DEFERRED
    assert result.ok
    env.clock.advance(1)
    _, result = env.workspace().apply(wait=False)
    assert result.outcomes["FineTune/money-rain"].outcome is Outcome.SUBMITTED
    assert result.outcomes["Deployment/money-rain"].outcome is Outcome.DEFERRED
    assert result.ok
    plan = env.workspace().plan()
    # still training: neither replaced nor "no changes" — unsettled is a change, and apply waits for it
    assert actions(plan)["FineTune/money-rain"] is ActionType.WAIT
    assert plan.has_changes
    assert "apply waits until it is ready" in next(
        a.reason for a in plan.actions if a.address == "FineTune/money-rain"
    )
    _, result = env.workspace().apply()
    assert result.ok
    assert len(env.live("fine_tunes")) == 1
    assert not env.workspace().plan().has_changes


def test_state_file_is_beside_the_manifests(make_env):
    env = make_env()
    env.workspace().apply()
    assert env.state_file.exists()
    assert Path(env.state_file.parent / "sandbox.db").exists() is False  # the test passes its own sandbox


def test_secrets_never_reach_the_state(make_env):
    env = make_env()
    ws = env.workspace()
    ws.wiring.env = {"DASHSCOPE_API_KEY": "sk-verysecretvalue123456"}
    ws.apply()
    blob = b"".join(p.read_bytes() for p in env.state_file.parent.iterdir())
    assert b"verysecretvalue" not in blob


def test_an_interrupted_replace_leaves_a_deposed_object_that_the_next_plan_deletes(make_env):
    from dataclasses import replace as dc_replace

    from reconciler.providers.dashscope.types import FineTuneCreate

    env = make_env()
    env.workspace().apply()
    ws = env.workspace()
    current = ws.records()["FineTune/money-rain"]
    # the "old" job a replace superseded, as if apply was killed before deleting it
    old_job = client(env).create_fine_tune(
        FineTuneCreate(
            model="wan2.5-i2v-preview",
            training_file_ids=current.spec and [ws.records()["Dataset/money-rain-train"].remote_id],
            training_type="efficient_sft",
            hyper_parameters={"n_epochs": 150, "batch_size": 2},
        )
    )
    env.clock.advance(7200)
    store = ws.open_state(readonly=False)
    try:
        store.put(
            dc_replace(current, deposed=[dc_replace(current, remote_id=old_job.job_id).to_dict()]),
            event="test",
        )
    finally:
        store.close()
    plan = env.workspace().plan()
    deposed = [(a.address, a.deposed, a.action) for a in plan.actions if a.deposed]
    assert deposed == [("FineTune/money-rain", old_job.job_id, ActionType.DELETE)]
    assert plan.has_changes
    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert [j["job_id"] for j in env.live("fine_tunes")] == [current.remote_id]
    assert env.workspace().records()["FineTune/money-rain"].deposed == []
    assert not env.workspace().plan().has_changes


def test_progress_shows_the_queue_position_of_a_waiting_job(make_env):
    from reconciler.models.state import ResourceRecord
    from reconciler.providers.dashscope.types import FineTuneCreate

    env = make_env()
    env.submit_training()
    records = env.workspace().records()
    file_id = records["Dataset/money-rain-train"].remote_id
    body = FineTuneCreate(
        model="wan2.5-i2v-preview",
        training_file_ids=[file_id],
        training_type="efficient_sft",
        hyper_parameters={"n_epochs": 400, "batch_size": 2},
    )
    c = client(env)
    c.create_fine_tune(body)
    env.clock.advance(1)
    third = c.create_fine_tune(body)
    env.clock.advance(60)  # PENDING → QUEUING
    adapter = env.workspace().adapters()["dashscope"]
    probe = ResourceRecord(
        address="FineTune/x",
        kind="FineTune",
        name="x",
        provider="dashscope",
        provider_type="dashscope",
        remote_id=third.job_id,
        spec={},
        spec_hash="",
    )
    obs = adapter.read(probe)
    assert obs.status == "QUEUING"
    assert obs.progress is not None and obs.progress.startswith(
        "queued: 1 job ahead"
    )  # the first job already finished


def test_a_training_job_removed_from_the_manifests_is_canceled_then_deleted(make_env):
    env = make_env()
    env.submit_training()  # the job is training
    text = (env.root / "money-rain.yaml").read_text()
    (env.root / "money-rain.yaml").write_text(text.split("---\n")[0])  # keep only the Dataset
    plan = env.workspace().plan()
    ft = next(a for a in plan.actions if a.address == "FineTune/money-rain")
    assert ft.action is ActionType.CANCEL
    assert "it will be canceled, then deleted" in ft.reason
    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert env.live("fine_tunes") == []
    statuses = [j["status"] for j in env.sandbox.list_objects("fine_tunes")]
    assert statuses == ["CANCELED"]
    assert set(env.workspace().records()) == {"Dataset/money-rain-train"}


def test_changing_a_job_that_is_still_training_cancels_it_first(make_env):
    env = make_env()
    env.submit_training()
    env.clock.advance(5)
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 160")
    plan = env.workspace().plan()
    ft = next(a for a in plan.actions if a.address == "FineTune/money-rain")
    assert ft.action is ActionType.REPLACE and ft.replace_mode.value == "destroy_before_create"
    assert "will be canceled first" in ft.reason and "running for" in ft.reason
    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    jobs = env.sandbox.list_objects("fine_tunes")
    assert sorted(j["status"] for j in jobs) == ["CANCELED", "SUCCEEDED"]
    assert (
        len(env.live("fine_tunes")) == 1 and env.live("fine_tunes")[0]["hyper_parameters"]["n_epochs"] == 160
    )
    assert not env.workspace().plan().has_changes


def test_a_saved_plan_is_refused_by_a_different_state_even_at_the_same_serial(make_env):
    """Lineage, not only the serial: a plan made against one state never applies to another."""
    env = make_env()
    env.workspace().apply()
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 160")
    saved = env.workspace().plan()
    assert saved.lineage and saved.has_changes
    foreign = saved.model_copy(update={"lineage": "00000000-0000-4000-8000-000000000000"})
    with pytest.raises(StalePlanError, match="different state"):
        env.workspace().apply(foreign)
    assert env.sandbox.request_counts().get("POST /api/v1/fine-tunes") == 1  # nothing was sent


def test_a_dataset_edited_between_plan_and_apply_is_refused_not_uploaded(make_env):
    env = make_env()
    saved = env.workspace().plan()
    caption = next((env.root / "data" / "money-rain").glob("*.jsonl"))
    caption.write_text(caption.read_text().replace("golden", "silver", 1))
    _, result = env.workspace().apply(saved)
    assert not result.ok
    assert "changed since the plan was made" in result.outcomes["Dataset/money-rain-train"].message
    assert not env.sandbox.list_objects("files")


def test_a_retrain_that_keeps_a_deployment_suffix_redeploys_destroy_first(make_env):
    """A suffix is globally unique (providers.md §1.6): a new deployment cannot take it while the old lives."""
    env = make_env()
    env.edit("money-rain.yaml", "  plan: lora\n", "  plan: lora\n  suffix: rain01\n")
    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    env.edit("money-rain.yaml", "n_epochs: 150", "n_epochs: 160")
    plan = env.workspace().plan()
    deployment = next(a for a in plan.actions if a.address == "Deployment/money-rain")
    assert (
        deployment.action is ActionType.REPLACE and deployment.replace_mode.value == "destroy_before_create"
    )
    _, result = env.workspace().apply(plan)
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    (live,) = env.live("deployments")
    assert live["deployed_model"].endswith("-rain01")
    assert not env.workspace().plan().has_changes
