"""The ImgOpen emulator: envelope, auth, submit validation, the task timeline, LoRA files, faults."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.providers.imgopen import ImgOpenClient, ResultState, result_endpoint
from reconciler.providers.imgopen.client import SUBMIT_PATH as CLIENT_SUBMIT_PATH
from reconciler.providers.imgopen.types import TRAINING_FIELDS
from reconciler.sandbox import Sandbox, serve
from reconciler.sandbox.imgopen import fields as rules
from reconciler.sandbox.imgopen import tasks

AUTH = {"X-Request-req-accessKeyId": "AKID-sandbox", "X-Request-req-accessKeySecret": "SECRET-sandbox"}
URLS = [f"https://images.example.com/{i}.png" for i in range(10)]
SUBMIT = tasks.SUBMIT_PATH
RESULT = tasks.RESULT_PATH


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sandbox.transport(), base_url="http://127.0.0.1", headers=AUTH) as client:
        yield client


def submit(http: httpx.Client, task_id: str = "t-1", **fields: Any) -> dict[str, Any]:
    r = http.post(SUBMIT, json={"taskId": task_id, "fileUrlList": URLS, **fields})
    assert r.status_code == 200, r.text
    return r.json()


def result(http: httpx.Client, task_id: str = "t-1") -> dict[str, Any]:
    r = http.post(RESULT, json={"taskId": task_id})
    assert r.status_code == 200, r.text
    return r.json()


# --- the contract with the client ----------------------------------------------------------------
def test_emulator_and_client_share_one_inference() -> None:
    assert tasks.RESULT_PATH == result_endpoint.RESULT_PATH
    assert tasks.SUBMIT_PATH == CLIENT_SUBMIT_PATH
    statuses = result_endpoint.TrainingStatus
    emulated = {
        "QUEUED": tasks.QUEUED,
        "SUCCEEDED": tasks.SUCCEEDED,
        "TRAINING": tasks.TRAINING,
        "FAILED": tasks.FAILED,
    }
    assert {s.name: int(s) for s in statuses} == emulated
    assert tasks.CODE_TASK_NOT_FOUND in result_endpoint.UNKNOWN_TASK_CODES
    assert frozenset(TRAINING_FIELDS) == rules.TRAINING_FIELDS  # the seed's whole field table, both sides


def test_submit_answers_the_seed_envelope_and_persists_defaults(http: httpx.Client, sandbox: Sandbox) -> None:
    assert submit(http, learningRate="0.0001", optimizerType="Lion") == {"code": "200", "msg": "success"}
    (task,) = sandbox.list_objects("imgopen_tasks")
    assert task["taskId"] == "t-1" and task["status"] == 1 and task["_deleted"] is False
    assert task["fields"] == {
        "maxEpochs": 20,
        "batchSize": 1,
        "learningRate": "0.0001",
        "maxTokenLength": 225,
        "clipSkip": 1,
        "pretrainedModel": "v1-5-pruned-emaonly",
        "repeats": 10,
        "optimizerType": "Lion",
    }
    assert task["steps"] == 20 * 10 * 10


# --- auth ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "missing"),
    [
        ({}, "X-Request-req-accessKeyId and X-Request-req-accessKeySecret"),
        ({"X-Request-req-accessKeyId": "id"}, "X-Request-req-accessKeySecret"),
        (
            {"X-Request-req-accessKeyId": " ", "X-Request-req-accessKeySecret": "s"},
            "X-Request-req-accessKeyId",
        ),
    ],
)
def test_both_credential_headers_are_required(
    sandbox: Sandbox, headers: dict[str, str], missing: str
) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url="http://127.0.0.1", headers=headers) as client:
        r = client.post(SUBMIT, json={"taskId": "t", "fileUrlList": URLS})
    assert r.status_code == 200 and r.json() == {"code": "401", "msg": f"Unauthorized: {missing} required"}
    assert sandbox.list_objects("imgopen_tasks") == []


# --- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"taskId": None}, "taskId is required"),
        ({"taskId": ""}, "taskId is required"),
        ({"taskId": "x" * 65}, "at most 64"),
        ({"fileUrlList": None}, "fileUrlList is required"),
        ({"fileUrlList": URLS[:9]}, "10-100"),
        ({"fileUrlList": URLS * 11}, "10-100"),
        ({"fileUrlList": [*URLS[:9], "ftp://x/y.png"]}, "public http(s) URLs"),
        ({"fileUrlList": "https://x/y.png"}, "array"),
        ({"maxEpochs": 9}, "maxEpochs must be an integer in 10-50"),
        ({"maxEpochs": 51}, "10-50"),
        ({"maxEpochs": 20.5}, "10-50"),
        ({"batchSize": 5}, "batchSize must be an integer in 1-4"),
        ({"learningRate": 0.0001}, "as a string to prevent precision loss"),
        ({"learningRate": "0.001"}, "0.0000001 - 0.0001"),
        ({"learningRate": "0.00000001"}, "0.0000001 - 0.0001"),
        ({"learningRate": "abc"}, "decimal number"),
        ({"maxTokenLength": 200}, "0, 150, 225"),
        ({"clipSkip": 0}, "1-5"),
        ({"repeats": 31}, "1-30"),
        ({"randomCrop": 0}, "randomCrop must be a boolean"),
        ({"mixedPrecision": "fp32"}, "fp16, bf16"),
        ({"savePrecision": "fp8"}, "fp16, bf16, float"),
        ({"numCpuThreadsPerProcess": 21}, "1-20"),
        ({"lrWarmupSteps": 101}, "0-100"),
        ({"optimizerType": "Adam"}, "AdamW, AdamW8bit"),
        ({"resolution": 0}, "positive integer"),
        ({"seed": "1"}, "seed must be an integer"),
        ({"networkDropout": 1.5}, "0-1"),
        ({"noiseOffset": -0.1}, "0-1"),
        ({"textEncoderLr": 5e-05}, "as a string"),
        ({"unetLr": "-1"}, "positive"),
        ({"minBucketReso": 1024, "maxBucketReso": 512}, "must not exceed maxBucketReso"),
        ({"max_epochs": 20}, "camelCase"),
        ({"file_url_list": URLS}, "Unknown parameter(s): file_url_list"),
    ],
)
def test_submit_validates_the_documented_ranges(
    http: httpx.Client, sandbox: Sandbox, change: dict[str, Any], fragment: str
) -> None:
    body: dict[str, Any] = {"taskId": "t", "fileUrlList": URLS, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = http.post(SUBMIT, json=body)
    assert r.status_code == 200 and r.json()["code"] == "400", r.text
    assert fragment in r.json()["msg"]
    assert sandbox.list_objects("imgopen_tasks") == []


def test_a_body_that_is_not_json_is_a_bad_request(http: httpx.Client) -> None:
    r = http.post(SUBMIT, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["code"] == "400" and "not valid JSON" in r.json()["msg"]


def test_a_duplicate_task_id_is_refused_and_changes_nothing(http: httpx.Client, sandbox: Sandbox) -> None:
    submit(http)
    again = http.post(SUBMIT, json={"taskId": "t-1", "fileUrlList": URLS, "maxEpochs": 30}).json()
    assert again == {"code": "409", "msg": "taskId already exists"}
    (task,) = sandbox.list_objects("imgopen_tasks")
    assert task["fields"]["maxEpochs"] == 20


# --- the result query and the timeline -----------------------------------------------------------
def test_result_goes_queued_training_succeeded_on_time(http: httpx.Client, clock: FakeClock) -> None:
    submit(http, maxEpochs=10, repeats=2, batchSize=2)  # 10 × ceil(10 × 2 / 2) = 100 steps
    queue, train, save = 120 / 600, 100 * 1.2 / 600, 60 / 600
    assert result(http) == {"code": "200", "msg": "success", "data": {"taskId": "t-1", "status": 1}}
    clock.advance(queue - 0.001)
    assert result(http)["data"]["status"] == 1
    clock.advance(0.002)
    assert result(http)["data"]["status"] == 3
    clock.advance(train + save - 0.002)
    assert result(http)["data"]["status"] == 3
    clock.advance(0.002)
    assert result(http)["data"] == {
        "taskId": "t-1",
        "status": 2,
        "loraUrl": "http://127.0.0.1/sandbox-files/imgopen/t-1/lora.safetensors",
    }


def test_resolution_scales_the_step_time(http: httpx.Client, sandbox: Sandbox, clock: FakeClock) -> None:
    submit(http, "small", resolution=512)
    submit(http, "large", resolution=1024)
    clock.advance((120 + 2000 * 1.2 + 60) / 600 + 0.01)
    assert result(http, "small")["data"]["status"] == 2
    assert result(http, "large")["data"]["status"] == 3  # four times the pixels, four times the time


def test_an_unknown_or_missing_task_id(http: httpx.Client) -> None:
    assert http.post(RESULT, json={"taskId": "nope"}).json() == {
        "code": "404",
        "msg": "taskId nope not found",
    }
    assert http.post(RESULT, json={}).json() == {"code": "400", "msg": "taskId is required"}


def test_fail_jobs_makes_trainings_fail_with_the_configured_message(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    faults = FaultConfig(fail_jobs=1.0, fail_message="GPU fell off the bus")
    with httpx.Client(transport=sandbox.transport(faults), base_url="http://127.0.0.1", headers=AUTH) as http:
        submit(http)
        for _ in range(200):
            data = result(http)["data"]
            if data["status"] == 4:
                break
            clock.advance(0.1)
        assert data == {"taskId": "t-1", "status": 4, "msg": "GPU fell off the bus"}
        # it failed part-way through training, not at the end
        assert clock.now() - 1_767_225_600.0 < (120 + 2000 * 1.2) / 600


# --- LoRA files ----------------------------------------------------------------------------------
def test_the_lora_file_is_served_once_the_training_succeeded(http: httpx.Client, clock: FakeClock) -> None:
    submit(http, networkDim=64)
    path = "/sandbox-files/imgopen/t-1/lora.safetensors"
    assert http.get(path).status_code == 404
    clock.advance(10)
    anonymous = httpx.Client(transport=http._transport, base_url="http://127.0.0.1")
    first, second = anonymous.get(path), anonymous.get(path)
    assert first.status_code == 200 and first.headers["content-type"] == "application/octet-stream"
    assert first.content == second.content  # deterministic
    size = struct.unpack("<Q", first.content[:8])[0]
    assert size % 8 == 0
    header = json.loads(first.content[8 : 8 + size])
    assert header["__metadata__"]["ss_network_dim"] == "64"
    tensor = header["lora_unet_sandbox.lora_down.weight"]
    assert tensor["dtype"] == "U8" and len(first.content) - 8 - size == tensor["data_offsets"][1]
    assert anonymous.get("/sandbox-files/imgopen/other/lora.safetensors").status_code == 404


# --- generic sandbox machinery -------------------------------------------------------------------
def test_unknown_paths_under_the_prefix_are_http_404(http: httpx.Client) -> None:
    r = http.post("/AIGCImgOpenServ/saas/modelTraining/nothingHere", json={})
    assert r.status_code == 404 and r.json()["code"] == "404"


def test_injected_throttling_keeps_its_http_status_and_is_counted(sandbox: Sandbox) -> None:
    faults = FaultConfig(rules=[FaultRule(match=f"POST {RESULT}", rate_429=1.0, retry_after_s=2)])
    with httpx.Client(transport=sandbox.transport(faults), base_url="http://127.0.0.1", headers=AUTH) as http:
        submit(http)
        r = http.post(RESULT, json={"taskId": "t-1"})
    assert r.status_code == 429 and r.json()["code"] == "429" and r.headers["retry-after"] == "2"
    assert sandbox.request_counts() == {f"POST {SUBMIT}": 1, f"POST {RESULT}": 1}


def test_the_client_works_over_real_http(sandbox: Sandbox, clock: FakeClock) -> None:
    server = serve(sandbox, port=0)
    try:
        client = ImgOpenClient(server.url, "AKID-real-http", "SECRET-real-http", clock=clock)
        assert client.submit_training("over-http", URLS, {"learningRate": 5e-5}).already_existed is False
        assert client.submit_training("over-http", URLS, {}).already_existed is True
        clock.advance(10)
        done = client.query_result("over-http")
        assert done.state is ResultState.SUCCEEDED and done.lora_url is not None
        assert done.lora_url.startswith(server.url)  # the Host the client used
        assert httpx.get(done.lora_url).status_code == 200
        client.close()
    finally:
        server.shutdown()
