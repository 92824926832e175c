"""The client's full flow against the sandbox emulator, in process and over real HTTP on 127.0.0.1.

upload → create → poll to SUCCEEDED (FakeClock, no wall time) → logs, checkpoints, validation →
export → deploy → scale → delete everything; request counts come from the emulator's own counter.
Both fidelity modes; `documented` differs where the documents are less helpful (providers.md §4b).
"""

from __future__ import annotations

import json
import random
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.providers.dashscope import (
    AigcConfig,
    DashScopeClient,
    DeploymentCreate,
    FineTuneCreate,
    FineTuneStatus,
)
from reconciler.providers.errors import ConflictError, InvalidRequestError, NotFoundError, OutcomeUnknownError
from reconciler.providers.http import RetryPolicy
from reconciler.sandbox import Sandbox, serve

KEY = "sk-sandbox-key-0123456789"
POLL_S = 30.0


def wan_zip(path: Path, samples: int = 10) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        lines = []
        for i in range(1, samples + 1):
            zf.writestr(f"image_{i}.jpg", b"\xff\xd8\xff" + bytes(64))
            zf.writestr(f"video_{i}.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(64))
            lines.append(
                json.dumps(
                    {
                        "prompt": f"sample {i} then the s86b5p money rain effect begins",
                        "first_frame_path": f"image_{i}.jpg",
                        "video_path": f"video_{i}.mp4",
                    }
                )
            )
        zf.writestr("data.jsonl", "\n".join(lines) + "\n")
    return path


def poll(clock: FakeClock, read: Callable[[], str], until: set[str], limit: int = 2000) -> str:
    for _ in range(limit):
        status = read()
        if status in until:
            return status
        clock.sleep(POLL_S)
    raise AssertionError(f"still {status} after {limit} polls")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["permissive", "documented"])
def sandbox(request, clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(db_path=None, clock=clock, time_scale=60.0, seed=1, fidelity=request.param) as sb:
        yield sb


def processed(client: DashScopeClient, clock: FakeClock, file_id: str) -> None:
    assert poll(clock, lambda: client.get_file(file_id).status or "", {"processed", "error"}) == "processed"


@pytest.fixture(params=["in-process", "http"])
def client(request, sandbox: Sandbox, clock: FakeClock) -> Iterator[DashScopeClient]:
    policy = RetryPolicy(rng=random.Random(0))
    if request.param == "in-process":
        with DashScopeClient(
            "http://sandbox.localhost", KEY, transport=sandbox.transport(), clock=clock, retry=policy
        ) as c:
            yield c
        return
    server = serve(sandbox, host="127.0.0.1", port=0)
    try:
        with DashScopeClient(server.url, KEY, clock=clock, retry=policy, timeout=10.0) as c:
            yield c
    finally:
        server.shutdown()


def test_full_flow(client: DashScopeClient, sandbox: Sandbox, clock: FakeClock, tmp_path: Path) -> None:
    sandbox.reset_counts()

    # dataset
    documented = sandbox.fidelity == "documented"
    zip_path = wan_zip(tmp_path / "money-rain.zip")
    f = client.upload_file(zip_path, filename="money-rain.zip")
    assert f.id and f.bytes == zip_path.stat().st_size and f.filename == "money-rain.zip"
    assert f.purpose == "fine-tune"
    assert f.status == ("uploaded" if documented else "processed")
    processed(client, clock, f.id)
    assert client.get_file(f.id).id == f.id
    assert f.id in [x.id for x in client.iter_files(purpose="fine-tune")]

    # training
    job = client.create_fine_tune(
        FineTuneCreate(
            model="wan2.5-i2v-preview",
            training_file_ids=[f.id],
            training_type="efficient_sft",
            hyper_parameters={"n_epochs": 40, "batch_size": 2, "learning_rate": 2e-5, "eval_epochs": 10},
        )
    )
    assert job.status in {FineTuneStatus.PENDING, FineTuneStatus.QUEUING, FineTuneStatus.RUNNING}
    assert job.job_id in [j.job_id for j in client.iter_fine_tunes()]
    assert (
        poll(clock, lambda: client.get_fine_tune(job.job_id).status, FineTuneStatus.TERMINAL) == "SUCCEEDED"
    )
    done = client.get_fine_tune(job.job_id)
    assert done.finetuned_output and done.end_time and done.output_cnt

    logs = client.fine_tune_logs(job.job_id, line=1000)
    assert logs.total >= len(logs.logs) > 0

    # checkpoints and validation
    names = client.validation_results(job.job_id)
    assert names
    details = client.validation_details(job.job_id, names[0])
    assert details.total >= 1 and details.items[0].prompt
    checkpoints = {c.checkpoint: c for c in client.list_checkpoints(job.job_id)}
    assert set(names) <= set(checkpoints)
    chosen = names[0]
    assert checkpoints[chosen].status == "PENDING" and checkpoints[chosen].model_name is None

    # export: a re-send with the same name is harmless (why the client retries it like a read);
    # documented fidelity refuses any second export — the adapter reads the checkpoint row instead
    assert client.export_checkpoint(job.job_id, chosen, model_name="money-rain-c1") is True
    if documented:
        with pytest.raises(InvalidRequestError, match="already been exported"):
            client.export_checkpoint(job.job_id, chosen, model_name="money-rain-c1")
    else:
        assert client.export_checkpoint(job.job_id, chosen, model_name="money-rain-c1") is True
    exported = poll(
        clock,
        lambda: next(c for c in client.list_checkpoints(job.job_id) if c.checkpoint == chosen).status,
        {"SUCCEEDED", "FAILED", "UNSUPPORTED"},
    )
    assert exported == "SUCCEEDED"
    model_name = next(c for c in client.list_checkpoints(job.job_id) if c.checkpoint == chosen).model_name
    assert model_name

    # deployment
    dep = client.create_deployment(
        DeploymentCreate(
            model_name=model_name,
            plan="lora",
            capacity=1,
            aigc_config=AigcConfig(
                use_input_prompt=False,
                prompt="Describe the image; then s86b5p.",
                lora_prompt_default="Then the s86b5p money rain effect begins.",
            ),
        )
    )
    with pytest.raises(ConflictError):
        client.create_deployment(DeploymentCreate(model_name=model_name))
    assert (
        poll(clock, lambda: client.get_deployment(dep.deployed_model).status, {"RUNNING", "FAILED"})
        == "RUNNING"
    )
    assert dep.deployed_model in [d.deployed_model for d in client.iter_deployments()]
    if documented:  # capacity applies to plan mu only [doc]
        with pytest.raises(InvalidRequestError, match="plan mu only"):
            client.scale_deployment(dep.deployed_model, 2)
    else:
        assert client.scale_deployment(dep.deployed_model, 2).status == "UPDATING"
    assert poll(clock, lambda: client.get_deployment(dep.deployed_model).status, {"RUNNING"}) == "RUNNING"

    # delete everything
    assert client.delete_deployment(dep.deployed_model).status == "DELETING"
    clock.sleep(3600)
    with pytest.raises(NotFoundError):
        client.get_deployment(dep.deployed_model)
    client.delete_fine_tune(job.job_id)
    with pytest.raises(NotFoundError):
        client.get_fine_tune(job.job_id)
    assert client.delete_file(f.id) is True
    with pytest.raises(NotFoundError):
        client.get_file(f.id)

    counts = sandbox.request_counts()
    assert counts["POST /compatible-mode/v1/files"] == 1
    assert counts["POST /api/v1/fine-tunes"] == 1
    assert counts["POST /api/v1/deployments"] == 2  # the second one is the 409 above, never retried
    assert counts["GET /api/v1/fine-tunes/{job_id}/export/{checkpoint}"] == 2
    assert counts["PUT /api/v1/deployments/{deployed_model}/scale"] == 1


def test_cancel_a_queued_job(client: DashScopeClient, clock: FakeClock, tmp_path: Path) -> None:
    f = client.upload_file(wan_zip(tmp_path / "d.zip"), filename="d.zip")
    processed(client, clock, f.id)
    spec = FineTuneCreate(
        model="wan2.2-i2v-flash",
        training_file_ids=[f.id],
        training_type="efficient_sft",
        hyper_parameters={"n_epochs": 40, "eval_epochs": 10},
    )
    first = client.create_fine_tune(spec)
    second = client.create_fine_tune(spec)
    clock.sleep(POLL_S)
    assert client.get_fine_tune(second.job_id).status in {"PENDING", "QUEUING"}  # one job trains at a time
    client.cancel_fine_tune(second.job_id)
    assert poll(clock, lambda: client.get_fine_tune(second.job_id).status, {"CANCELED"}) == "CANCELED"
    assert client.get_fine_tune(first.job_id).status in {"PENDING", "QUEUING", "RUNNING", "SUCCEEDED"}


def test_lost_create_response_is_outcome_unknown_then_found_by_look_up(
    clock: FakeClock, tmp_path: Path
) -> None:
    from reconciler.models.faults import FaultConfig, FaultRule

    faults = FaultConfig(seed=3, rules=[FaultRule(match="POST /api/v1/deployments", rate_lost_response=1.0)])
    with (
        Sandbox(db_path=None, clock=clock, time_scale=60.0, seed=1) as sb,
        DashScopeClient(
            "http://sandbox.localhost", KEY, transport=sb.transport(faults=faults), clock=clock, timeout=5.0
        ) as c,
    ):
        f = c.upload_file(wan_zip(tmp_path / "d.zip"), filename="d.zip")
        job = c.create_fine_tune(
            FineTuneCreate(
                model="wan2.5-i2v-preview",
                training_file_ids=[f.id],
                training_type="efficient_sft",
                hyper_parameters={"n_epochs": 40, "eval_epochs": 10},
            )
        )
        poll(clock, lambda: c.get_fine_tune(job.job_id).status, FineTuneStatus.TERMINAL)
        with pytest.raises(OutcomeUnknownError) as info:
            c.create_deployment(DeploymentCreate(model_name=job.finetuned_output or ""))
        assert info.value.operation == "create_deployment"
        # the change was committed: a look-up finds it, so the engine adopts instead of re-creating
        assert [d.model_name for d in c.iter_deployments()] == [job.finetuned_output]
        assert sb.request_counts()["POST /api/v1/deployments"] == 1  # not retried blindly
