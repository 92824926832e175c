"""ImgOpenAdapter + ImgOpenClient against the in-process ImgOpen emulator (FakeClock, no sleeps)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from imgopen_fakes import URLS, imgopen_sandbox, sandbox_client

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.imgopen import ImgOpenFineTune
from reconciler.models.state import ResourceRecord
from reconciler.providers.errors import OutcomeUnknownError
from reconciler.providers.imgopen import ImgOpenAdapter, task_id
from reconciler.providers.interface import Desired, Observation, Phase
from reconciler.sandbox import Sandbox
from reconciler.sandbox.faults import decide

SUBMIT = "POST /AIGCImgOpenServ/saas/modelTraining/submitTraining/Job"
QUERY = "POST /AIGCImgOpenServ/saas/modelTraining/queryTrainingResult"
HASH = "sha256:" + "1f" * 32
FAIL_MESSAGE = "Training failed: loss diverged (injected by sandbox)"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    sb = imgopen_sandbox(clock)
    yield sb
    sb.close()


def make_adapter(sandbox: Sandbox, clock: FakeClock, faults: FaultConfig | None = None) -> ImgOpenAdapter:
    return ImgOpenAdapter(
        "imgopen-sandbox", sandbox_client(sandbox, clock, faults), clock=clock, parallelism=4
    )


@pytest.fixture
def adapter(sandbox: Sandbox, clock: FakeClock) -> ImgOpenAdapter:
    return make_adapter(sandbox, clock)


def fine_tune(name: str = "cats", spec_hash: str = HASH, **fields: Any) -> Desired:
    spec = ImgOpenFineTune(provider="imgopen-sandbox", dataset="cats", **{"maxEpochs": 10, **fields})
    return Desired(
        address=f"FineTune/{name}",
        kind="FineTune",
        name=name,
        spec=spec.model_dump(mode="json"),
        spec_hash=spec_hash,
        inputs={"Dataset/cats": {"urls": URLS, "count": len(URLS)}},
    )


def dataset(name: str = "cats") -> Desired:
    return Desired(
        address=f"Dataset/{name}",
        kind="Dataset",
        name=name,
        spec={"provider": "imgopen-sandbox", "urls": URLS},
        spec_hash=HASH,
    )


def record(desired: Desired, obs: Observation) -> ResourceRecord:
    return ResourceRecord(
        address=desired.address,
        kind=desired.kind,
        name=desired.name,
        provider="imgopen-sandbox",
        provider_type="imgopen",
        remote_id=obs.remote_id,
        spec=dict(desired.spec),
        spec_hash=desired.spec_hash,
        status=obs.status,
        outputs=dict(obs.outputs),
    )


def wait_settled(
    adapter: ImgOpenAdapter, rec: ResourceRecord, clock: FakeClock
) -> tuple[Observation, list[str]]:
    statuses: list[str] = []
    for _ in range(1000):
        obs = adapter.read(rec)
        if not statuses or statuses[-1] != obs.status:
            statuses.append(obs.status)
        if obs.phase is not Phase.PENDING:
            return obs, statuses
        clock.advance(0.5)
    raise AssertionError("never settled")


# --- datasets ------------------------------------------------------------------------------------
def test_a_dataset_is_its_urls_and_costs_no_request(adapter: ImgOpenAdapter, sandbox: Sandbox) -> None:
    d = dataset()
    created = adapter.create(d)
    assert created.phase is Phase.READY and created.outputs == {"urls": URLS, "count": 12}
    assert created.remote_id.startswith("urls:cats:")
    assert adapter.read(record(d, created)) == created
    assert adapter.discover([d], set())[d.address] == created
    assert adapter.find(d, 0.0, set()) == created
    assert adapter.read_many([record(d, created)])[d.address] == created
    adapter.delete(record(d, created))
    assert sandbox.request_counts() == {}


# --- the happy path ------------------------------------------------------------------------------
def test_submit_poll_succeed_and_download_the_lora(
    adapter: ImgOpenAdapter, sandbox: Sandbox, clock: FakeClock
) -> None:
    d = fine_tune(seed=42, learningRate="0.0001")
    created = adapter.create(d)
    tid = task_id(d.address, d.spec_hash)
    assert adapter.fingerprint(d) == {"taskId": tid}
    assert created.remote_id == tid and created.phase is Phase.PENDING and created.status == "SUBMITTED"
    assert sandbox.request_counts() == {SUBMIT: 1}
    (task,) = sandbox.list_objects("imgopen_tasks")
    assert task["taskId"] == tid and task["fileUrlList"] == URLS
    assert task["fields"]["learningRate"] == "0.0001" and task["fields"]["seed"] == 42
    assert task["fields"]["maxEpochs"] == 10 and task["fields"]["batchSize"] == 1  # default filled in

    final, statuses = wait_settled(adapter, record(d, created), clock)
    assert statuses == ["1", "3", "2"]
    assert final.phase is Phase.READY and final.remote_id == tid
    assert final.outputs == {
        "task_id": tid,
        "lora_url": f"http://127.0.0.1/sandbox-files/imgopen/{tid}/lora.safetensors",
    }

    with httpx.Client(transport=sandbox.transport(), base_url="http://127.0.0.1") as http:
        response = http.get(final.outputs["lora_url"])  # no credentials: a pre-signed-style URL
    assert response.status_code == 200
    size = struct.unpack("<Q", response.content[:8])[0]
    header = json.loads(response.content[8 : 8 + size])
    assert header["__metadata__"]["sandbox_task_id"] == tid
    assert len(response.content) == 8 + size + 4096


def test_training_time_follows_the_parameters(adapter: ImgOpenAdapter, clock: FakeClock) -> None:
    short, long = fine_tune("short", maxEpochs=10), fine_tune("long", maxEpochs=40, repeats=20)
    recs = [record(d, adapter.create(d)) for d in (short, long)]
    done: dict[str, float] = {}
    start = clock.now()
    while len(done) < 2:
        for address, obs in adapter.read_many(recs).items():
            if obs.phase is Phase.READY and address not in done:
                done[address] = clock.now() - start
        clock.advance(0.5)
    # steps: 10 × 12 × 10 = 1200 vs 40 × 12 × 20 = 9600 at 1.2 s each, time scale 600
    assert done["FineTune/short"] == pytest.approx((120 + 1200 * 1.2 + 60) / 600, abs=0.6)
    assert done["FineTune/long"] == pytest.approx((120 + 9600 * 1.2 + 60) / 600, abs=0.6)


# --- idempotency, lost responses, discovery --------------------------------------------------------
def test_a_duplicate_submit_is_recognised_and_adopted(
    adapter: ImgOpenAdapter, sandbox: Sandbox, clock: FakeClock
) -> None:
    d = fine_tune()
    first = adapter.create(d)
    clock.advance(1.0)
    again = adapter.create(d)
    assert again.remote_id == first.remote_id and again.status == "3" and again.phase is Phase.PENDING
    assert len(sandbox.list_objects("imgopen_tasks")) == 1
    assert sandbox.request_counts() == {SUBMIT: 2, QUERY: 1}


def test_every_submit_response_lost_then_find_adopts_without_a_duplicate(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    faults = FaultConfig(rules=[FaultRule(match=SUBMIT, rate_lost_response=1.0)])
    adapter = make_adapter(sandbox, clock, faults)
    d = fine_tune()
    with pytest.raises(OutcomeUnknownError):
        adapter.create(d)
    found = adapter.find(d, clock.now() - 300, set())
    # (the client waited out read timeouts and backoff on the fake clock meanwhile: the task may be done)
    assert found is not None and found.remote_id == task_id(d.address, d.spec_hash)
    assert found.phase in (Phase.PENDING, Phase.READY)
    assert len(sandbox.list_objects("imgopen_tasks")) == 1  # five attempts sent, one task


def _seed_losing_only_the_first_submit() -> int:
    rules = FaultConfig(rules=[FaultRule(match=SUBMIT, rate_lost_response=0.5)])
    path = SUBMIT.split(" ", 1)[1]
    for seed in range(200):
        first = decide(rules, seed, "POST", path, SUBMIT, 1)
        second = decide(rules, seed, "POST", path, SUBMIT, 2)
        if first.kind == "lost" and second.kind == "none":
            return seed
    raise AssertionError("no such seed")


def test_a_lost_submit_response_is_resent_and_the_duplicate_adopted(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    faults = FaultConfig(
        seed=_seed_losing_only_the_first_submit(), rules=[FaultRule(match=SUBMIT, rate_lost_response=0.5)]
    )
    adapter = make_adapter(sandbox, clock, faults)
    d = fine_tune()
    obs = adapter.create(d)
    assert obs.remote_id == task_id(d.address, d.spec_hash) and obs.status in (
        "1",
        "3",
    )  # read, not "SUBMITTED"
    assert len(sandbox.list_objects("imgopen_tasks")) == 1
    assert sandbox.request_counts() == {SUBMIT: 2, QUERY: 1}


def test_discover_finds_by_task_id_only_for_the_same_spec(adapter: ImgOpenAdapter, clock: FakeClock) -> None:
    d = fine_tune()
    created = adapter.create(d)
    found = adapter.discover([d, dataset()], set())
    assert found[d.address].remote_id == created.remote_id and found["Dataset/cats"].phase is Phase.READY
    assert d.address not in adapter.discover([d], {created.remote_id})  # already owned by another resource
    assert adapter.discover([fine_tune(spec_hash="sha256:other")], set()) == {}
    assert adapter.discover([fine_tune(name="dogs")], set()) == {}


# --- failures and retraining ---------------------------------------------------------------------
def test_fail_jobs_ends_failed_and_retraining_takes_the_next_task_id(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    adapter = make_adapter(sandbox, clock, FaultConfig(fail_jobs=1.0))
    d = fine_tune()
    created = adapter.create(d)
    final, statuses = wait_settled(adapter, record(d, created), clock)
    assert statuses[-1] == "4" and final.phase is Phase.FAILED and final.message == FAIL_MESSAGE
    assert "lora_url" not in final.outputs
    # a FAILED task is not adopted; creating again spends a fresh id instead of re-reading the failure
    assert adapter.discover([d], set()) == {} and adapter.find(d, 0.0, set()) is None
    healthy = make_adapter(sandbox, clock)
    retry = healthy.create(d)
    assert retry.remote_id == task_id(d.address, d.spec_hash, 1) == created.remote_id + "-r1"
    assert retry.status == "SUBMITTED"
    assert [t["taskId"] for t in sandbox.list_objects("imgopen_tasks")] == [
        created.remote_id,
        retry.remote_id,
    ]
    assert healthy.discover([d], set())[d.address].remote_id == retry.remote_id  # the newest attempt


def test_read_many_queries_each_training_and_reports_unknown_ones_gone(
    adapter: ImgOpenAdapter, sandbox: Sandbox
) -> None:
    desired = [fine_tune(f"ft-{i}", seed=i) for i in range(5)]
    recs = [record(d, adapter.create(d)) for d in desired]
    ghost = ResourceRecord(
        address="FineTune/ghost",
        kind="FineTune",
        name="ghost",
        provider="imgopen-sandbox",
        provider_type="imgopen",
        remote_id="rcl-ghost-0000000000000000",
        spec={},
        spec_hash="h",
    )
    ds = dataset()
    sandbox.reset_counts()
    seen = adapter.read_many([*recs, ghost, record(ds, adapter.create(ds))])
    assert {a: o.phase for a, o in seen.items()} == {
        **{r.address: Phase.PENDING for r in recs},
        "FineTune/ghost": Phase.GONE,
        "Dataset/cats": Phase.READY,
    }
    assert sandbox.request_counts() == {QUERY: 6}  # no list endpoint: one query per training


def test_delete_and_cancel_only_forget(adapter: ImgOpenAdapter, sandbox: Sandbox) -> None:
    d = fine_tune()
    rec = record(d, adapter.create(d))
    sandbox.reset_counts()
    canceled = adapter.cancel(rec)
    assert canceled.phase is Phase.GONE and "keeps running on ImgOpen" in (canceled.message or "")
    adapter.delete(rec)
    assert sandbox.request_counts() == {}
    assert adapter.read(rec).phase is Phase.PENDING  # still there: ImgOpen has no delete
    with pytest.raises(ValueError, match="no in-place update"):
        adapter.update(d, rec)


def test_kinds_imgopen_cannot_serve_are_refused(adapter: ImgOpenAdapter) -> None:
    d = Desired(address="Deployment/x", kind="Deployment", name="x", spec={}, spec_hash="h")
    with pytest.raises(ValueError, match="imgopen cannot serve Deployment"):
        adapter.create(d)
