"""ImgOpen in `documented` fidelity: only the submit is documented, so the answer to a duplicate taskId
is a bare refusal, and the adapter must tell a taken taskId by the result query, not by wording."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from imgopen_fakes import ACCESS_KEY_ID, ACCESS_KEY_SECRET, URLS

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.imgopen import ImgOpenFineTune
from reconciler.providers.errors import InvalidRequestError
from reconciler.providers.http import RetryPolicy
from reconciler.providers.imgopen import ImgOpenAdapter, ImgOpenClient, task_id
from reconciler.providers.interface import Desired, Phase
from reconciler.sandbox import Sandbox
from reconciler.sandbox.faults import decide

SUBMIT = "POST /AIGCImgOpenServ/saas/modelTraining/submitTraining/Job"
QUERY = "POST /AIGCImgOpenServ/saas/modelTraining/queryTrainingResult"
HASH = "sha256:" + "1f" * 32


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=5, time_scale=600.0, faults=FaultConfig(), fidelity="documented")
    yield sb
    sb.close()


def adapter_for(sandbox: Sandbox, clock: FakeClock, faults: FaultConfig | None = None) -> ImgOpenAdapter:
    client = ImgOpenClient(
        "http://127.0.0.1",
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        transport=sandbox.transport(faults),
        retry=RetryPolicy(rng=random.Random(3)),
        clock=clock,
    )
    return ImgOpenAdapter("imgopen-sandbox", client, clock=clock)


def fine_tune(**fields: Any) -> Desired:
    spec = ImgOpenFineTune(provider="imgopen-sandbox", dataset="cats", **{"maxEpochs": 10, **fields})
    return Desired(
        address="FineTune/cats",
        kind="FineTune",
        name="cats",
        spec=spec.model_dump(mode="json"),
        spec_hash=HASH,
        inputs={"Dataset/cats": {"urls": URLS, "count": len(URLS)}},
    )


def test_a_duplicate_task_id_gets_a_refusal_that_says_nothing(sandbox: Sandbox) -> None:
    body = {"taskId": "t-1", "fileUrlList": URLS}
    for fidelity, expected in (
        ("documented", {"code": "400", "msg": "submit failed"}),
        ("permissive", {"code": "409", "msg": "taskId already exists"}),
    ):
        with httpx.Client(
            transport=sandbox.transport(fidelity=fidelity),
            base_url="http://127.0.0.1",
            headers={"X-Request-req-accessKeyId": "a", "X-Request-req-accessKeySecret": "b"},
        ) as http:
            http.post(SUBMIT.split(" ", 1)[1], json=body)
            assert http.post(SUBMIT.split(" ", 1)[1], json=body).json() == expected
    assert len(sandbox.list_objects("imgopen_tasks")) == 1


def test_a_repeated_submit_is_adopted_through_the_result_query(sandbox: Sandbox, clock: FakeClock) -> None:
    adapter = adapter_for(sandbox, clock)
    first = adapter.create(fine_tune())
    clock.advance(1.0)
    sandbox.reset_counts()
    again = adapter.create(fine_tune())
    assert again.remote_id == first.remote_id and again.phase is Phase.PENDING and again.status == "3"
    assert sandbox.request_counts() == {SUBMIT: 1, QUERY: 1}
    assert len(sandbox.list_objects("imgopen_tasks")) == 1


def _seed_losing_only_the_first_submit() -> int:
    rules = FaultConfig(rules=[FaultRule(match=SUBMIT, rate_lost_response=0.5)])
    path = SUBMIT.split(" ", 1)[1]
    for seed in range(200):
        if (
            decide(rules, seed, "POST", path, SUBMIT, 1).kind == "lost"
            and decide(rules, seed, "POST", path, SUBMIT, 2).kind == "none"
        ):
            return seed
    raise AssertionError("no such seed")


def test_a_resent_submit_after_a_lost_response_adopts_the_task(sandbox: Sandbox, clock: FakeClock) -> None:
    faults = FaultConfig(
        seed=_seed_losing_only_the_first_submit(), rules=[FaultRule(match=SUBMIT, rate_lost_response=0.5)]
    )
    d = fine_tune()
    obs = adapter_for(sandbox, clock, faults).create(d)
    assert obs.remote_id == task_id(d.address, d.spec_hash) and obs.status in (
        "1",
        "3",
    )  # read, not SUBMITTED
    assert len(sandbox.list_objects("imgopen_tasks")) == 1


def test_a_genuine_refusal_still_fails(sandbox: Sandbox, clock: FakeClock) -> None:
    adapter = adapter_for(sandbox, clock)
    ftp = [u.replace("https://", "ftp://") for u in URLS]  # not public http(s) URLs
    bad = Desired(
        address="FineTune/cats",
        kind="FineTune",
        name="cats",
        spec=dict(fine_tune().spec),
        spec_hash=HASH,
        inputs={"Dataset/cats": {"urls": ftp, "count": len(ftp)}},
    )
    sandbox.reset_counts()
    with pytest.raises(InvalidRequestError, match="public http"):
        adapter.create(bad)
    assert sandbox.request_counts() == {SUBMIT: 1, QUERY: 1}  # asked whether the taskId exists: it does not
    assert sandbox.list_objects("imgopen_tasks") == []


def test_a_failed_task_is_retrained_under_the_next_id(sandbox: Sandbox, clock: FakeClock) -> None:
    d = fine_tune()
    failed = adapter_for(sandbox, clock, FaultConfig(fail_jobs=1.0)).create(d)
    clock.advance(3600)
    retry = adapter_for(sandbox, clock).create(d)
    assert retry.remote_id == failed.remote_id + "-r1" and retry.status == "SUBMITTED"
