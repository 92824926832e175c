"""Every client method sends exactly the request providers.md §1 describes and parses the seed's JSON."""

from __future__ import annotations

import httpx
import pytest
import seed_examples as seed
from dashscope_fakes import API_KEY, ScriptedServer, ok

from reconciler.clock import FakeClock
from reconciler.providers.dashscope import (
    AigcConfig,
    DashScopeClient,
    DeploymentCreate,
    FineTuneCreate,
)

JOB = "ft-202511111122-xxxx"
DEPLOYED = "wan2.5-i2v-preview-ft-202511111122-xxxx"


def test_headers_on_every_request(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(ok(seed.GET_FINE_TUNE))
    with DashScopeClient(
        "https://dashscope-intl.aliyuncs.com",
        API_KEY,
        workspace="llm-abc",
        transport=httpx.MockTransport(server.handler),
        clock=clock,
    ) as c:
        c.get_fine_tune(JOB)
    h = server.last.headers
    assert h["authorization"] == f"Bearer {API_KEY}"
    assert h["x-dashscope-workspace"] == "llm-abc"
    assert h["accept"] == "application/json"


def test_no_workspace_header_by_default(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.GET_FINE_TUNE))
    client.get_fine_tune(JOB)
    assert "x-dashscope-workspace" not in server.last.headers


def test_upload_file(client: DashScopeClient, server: ScriptedServer, tmp_path) -> None:
    path = tmp_path / "data.zip"
    path.write_bytes(b"PK\x03\x04" + b"x" * 1000)
    server.script(ok(seed.UPLOAD_FILE))
    f = client.upload_file(path, filename="wan-i2v-training-dataset.zip")
    r = server.last
    assert (r.method, r.path, r.query) == ("POST", "/compatible-mode/v1/files", {})
    assert r.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert int(r.headers["content-length"]) == len(r.body)
    assert b'name="purpose"\r\n\r\nfine-tune\r\n' in r.body
    assert b'name="file"; filename="wan-i2v-training-dataset.zip"' in r.body
    assert b"PK\x03\x04" + b"x" * 1000 in r.body
    assert (f.id, f.bytes, f.status, f.created_at) == (
        "file-ft-b2416bacc4d742xxxx",
        73310369,
        "processed",
        1766127125,
    )


def test_upload_from_file_object(client: DashScopeClient, server: ScriptedServer, tmp_path) -> None:
    path = tmp_path / "d.zip"
    path.write_bytes(b"abc")
    server.script(ok(seed.UPLOAD_FILE))
    with path.open("rb") as fh:
        client.upload_file(fh, filename="named.zip", purpose="fine-tune")
    assert b'filename="named.zip"' in server.last.body


def test_upload_missing_file_is_a_clear_error(
    client: DashScopeClient, server: ScriptedServer, tmp_path
) -> None:
    with pytest.raises(FileNotFoundError, match="dataset file to upload not found"):
        client.upload_file(tmp_path / "nope.zip", filename="nope.zip")
    assert server.count == 0


def test_get_file(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok({**seed.UPLOAD_FILE, "status_details": None}))
    f = client.get_file("file-ft-b2416bacc4d742xxxx")
    assert (server.last.method, server.last.path) == (
        "GET",
        "/compatible-mode/v1/files/file-ft-b2416bacc4d742xxxx",
    )
    assert f.filename == "wan-i2v-training-dataset.zip"


def test_list_files_sends_only_given_filters(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok({"object": "list", "has_more": False, "data": [seed.UPLOAD_FILE]}))
    page = client.list_files(
        purpose="fine-tune",
        after="file-1",
        limit=50,
        create_after="20251112",
        create_before="2025-11-12 10:10:10",
    )
    assert server.last.path == "/compatible-mode/v1/files"
    assert server.last.query == {
        "after": ["file-1"],
        "limit": ["50"],
        "purpose": ["fine-tune"],
        "create_after": ["20251112"],
        "create_before": ["2025-11-12 10:10:10"],
    }
    assert [f.id for f in page.data] == ["file-ft-b2416bacc4d742xxxx"]
    client.list_files()
    assert server.last.query == {}


def test_list_files_rejects_limit_over_2000(client: DashScopeClient, server: ScriptedServer) -> None:
    with pytest.raises(ValueError, match="limit must be between 1 and 2000"):
        client.list_files(limit=2001)
    assert server.count == 0


def test_delete_file(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok({"object": "file", "deleted": True, "id": "file-1"}))
    assert client.delete_file("file-1") is True
    assert (server.last.method, server.last.path) == ("DELETE", "/compatible-mode/v1/files/file-1")


def test_create_fine_tune_body_is_exactly_the_request(
    client: DashScopeClient, server: ScriptedServer
) -> None:
    server.script(ok(seed.CREATE_FINE_TUNE))
    hp = {
        "n_epochs": 400,
        "batch_size": 2,
        "learning_rate": 2e-5,
        "split": 0.9,
        "eval_epochs": 50,
        "max_pixels": 36864,
    }
    job = client.create_fine_tune(
        FineTuneCreate(
            model="wan2.6-i2v",
            training_file_ids=["file-a"],
            training_type="efficient_sft",
            hyper_parameters=hp,
        )
    )
    r = server.last
    assert (r.method, r.path) == ("POST", "/api/v1/fine-tunes")
    assert r.headers["content-type"] == "application/json"
    assert r.json == {
        "model": "wan2.6-i2v",
        "training_file_ids": ["file-a"],
        "training_type": "efficient_sft",
        "hyper_parameters": hp,
    }
    assert (job.job_id, job.status, job.finetuned_output, job.max_output_cnt) == (
        JOB,
        "PENDING",
        "wan2.5-i2v-preview-ft-202511111122-xxxx",
        20,
    )
    assert job.hyper_parameters["learning_rate"] == 2e-5
    assert not job.is_terminal


def test_create_fine_tune_with_validation_and_names(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.CREATE_FINE_TUNE))
    client.create_fine_tune(
        FineTuneCreate(
            model="m", training_file_ids=["a", "b"], validation_file_ids=["v"], job_name="j", model_name="n"
        )
    )
    assert server.last.json == {
        "model": "m",
        "training_file_ids": ["a", "b"],
        "validation_file_ids": ["v"],
        "job_name": "j",
        "model_name": "n",
    }


def test_get_fine_tune(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.GET_FINE_TUNE))
    job = client.get_fine_tune(JOB)
    assert (server.last.method, server.last.path) == ("GET", f"/api/v1/fine-tunes/{JOB}")
    assert (job.status, job.usage, job.output_cnt, job.end_time) == (
        "SUCCEEDED",
        432000,
        8,
        "2025-11-11 16:49:01",
    )
    assert job.is_terminal


def test_list_fine_tunes(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.LIST_FINE_TUNES))
    page = client.list_fine_tunes(page_no=2, page_size=50, model="wan2.5-i2v-preview")
    assert server.last.path == "/api/v1/fine-tunes"
    assert server.last.query == {"page_no": ["2"], "page_size": ["50"], "model": ["wan2.5-i2v-preview"]}
    assert (page.total, [j.job_id for j in page.jobs]) == (1, [JOB])
    client.list_fine_tunes()
    assert server.last.query == {"page_no": ["1"], "page_size": ["100"]}


def test_list_item_code_is_not_a_request_failure(client: DashScopeClient, server: ScriptedServer) -> None:
    canceled = {
        **seed.GET_FINE_TUNE["output"],
        "status": "CANCELED",
        "code": "1",
        "message": "canceled by user",
    }
    server.script(
        ok({"request_id": "r", "output": {"page_no": 1, "page_size": 100, "total": 1, "jobs": [canceled]}})
    )
    page = client.list_fine_tunes()
    assert page.jobs[0].code == "1"


def test_cancel_and_delete_fine_tune(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.CANCEL))
    assert client.cancel_fine_tune(JOB) is None
    assert (server.last.method, server.last.path, server.last.body) == (
        "POST",
        f"/api/v1/fine-tunes/{JOB}/cancel",
        b"",
    )
    server.steps[:] = [ok(seed.DELETE_FINE_TUNE)]
    client.delete_fine_tune(JOB)
    assert (server.last.method, server.last.path) == ("DELETE", f"/api/v1/fine-tunes/{JOB}")


def test_logs(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.LOGS))
    logs = client.fine_tune_logs(JOB)
    assert server.last.path == f"/api/v1/fine-tunes/{JOB}/logs"
    assert server.last.query == {"offset": ["0"], "line": ["100"]}
    assert logs.total == 25 and logs.complete
    client.fine_tune_logs(JOB, offset=10, line=1000)
    assert server.last.query == {"offset": ["10"], "line": ["1000"]}
    with pytest.raises(ValueError):
        client.fine_tune_logs(JOB, line=1001)


def test_validation_results_and_details(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.VALIDATION_RESULTS))
    assert client.validation_results(JOB) == [
        "checkpoint-160",
        "checkpoint-20",
        "checkpoint-40",
        "checkpoint-60",
    ]
    assert server.last.path == f"/api/v1/fine-tunes/{JOB}/validation-results"
    server.steps[:] = [ok(seed.VALIDATION_DETAILS)]
    page = client.validation_details(JOB, "checkpoint-160")
    assert server.last.path == f"/api/v1/fine-tunes/{JOB}/validation-details/checkpoint-160"
    assert server.last.query == {"page_no": ["1"], "page_size": ["10"]}
    assert page.total == 1 and page.items[0].video_path.startswith("https://finetune-swap")


def test_validation_results_empty_until_finished(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok({"request_id": "r", "output": []}))
    assert client.validation_results(JOB) == []


def test_export_is_a_get_with_model_name(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.EXPORT))
    assert client.export_checkpoint(JOB, "checkpoint-160", model_name="my-model_1") is True
    r = server.last
    assert (r.method, r.path, r.query) == (
        "GET",
        f"/api/v1/fine-tunes/{JOB}/export/checkpoint-160",
        {"model_name": ["my-model_1"]},
    )
    server.steps[:] = [ok({"request_id": "r", "output": False})]
    assert client.export_checkpoint(JOB, "checkpoint-160", model_name="x") is False
    assert server.count == 2  # False is returned, not silently re-sent


def test_list_checkpoints(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.CHECKPOINTS))
    cps = client.list_checkpoints(JOB)
    assert server.last.path == f"/api/v1/fine-tunes/{JOB}/checkpoints"
    assert [(c.checkpoint, c.status, c.model_name) for c in cps] == [
        ("checkpoint-180", "PENDING", None),
        ("checkpoint-160", "SUCCEEDED", "wan2.5-i2v-preview-ft-202511111122-xxxx-c160"),
    ]


def test_create_deployment(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.CREATE_DEPLOYMENT))
    dep = client.create_deployment(
        DeploymentCreate(
            model_name=DEPLOYED,
            capacity=1,
            plan="lora",
            aigc_config=AigcConfig(use_input_prompt=False, prompt="P", lora_prompt_default="D"),
        )
    )
    assert (server.last.method, server.last.path) == ("POST", "/api/v1/deployments")
    assert server.last.json == {
        "model_name": DEPLOYED,
        "plan": "lora",
        "capacity": 1,
        "aigc_config": {"use_input_prompt": False, "prompt": "P", "lora_prompt_default": "D"},
    }
    assert (dep.deployed_model, dep.status, dep.charge_type) == (DEPLOYED, "PENDING", "post_paid")


def test_get_list_scale_delete_deployment(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.GET_DEPLOYMENT))
    assert client.get_deployment(DEPLOYED).status == "RUNNING"
    assert (server.last.method, server.last.path) == ("GET", f"/api/v1/deployments/{DEPLOYED}")

    server.steps[:] = [
        ok(
            {
                "request_id": "r",
                "output": {
                    "page_no": 1,
                    "page_size": 200,
                    "total": 1,
                    "deployments": [seed.GET_DEPLOYMENT["output"]],
                },
            }
        )
    ]
    page = client.list_deployments()
    assert server.last.query == {"page_no": ["1"], "page_size": ["200"]}
    assert page.deployments[0].deployed_model == DEPLOYED

    server.steps[:] = [
        ok({"request_id": "r", "output": {**seed.GET_DEPLOYMENT["output"], "status": "UPDATING"}})
    ]
    assert client.scale_deployment(DEPLOYED, 2).status == "UPDATING"
    assert (server.last.method, server.last.path, server.last.json) == (
        "PUT",
        f"/api/v1/deployments/{DEPLOYED}/scale",
        {"capacity": 2},
    )

    server.steps[:] = [ok(seed.DELETE_DEPLOYMENT)]
    assert client.delete_deployment(DEPLOYED).status == "DELETING"
    assert (server.last.method, server.last.path) == ("DELETE", f"/api/v1/deployments/{DEPLOYED}")


def test_ids_cannot_change_the_path(client: DashScopeClient, server: ScriptedServer) -> None:
    server.script(ok(seed.GET_FINE_TUNE))
    client.get_fine_tune("../deployments/x?y=1")
    assert server.last.raw_path == b"/api/v1/fine-tunes/..%2Fdeployments%2Fx%3Fy%3D1"
    assert server.last.query == {}
    client.get_fine_tune("ft-1:checkpoint-00040004")
    assert server.last.raw_path == b"/api/v1/fine-tunes/ft-1:checkpoint-00040004"
    for bad in ("", "..", "."):
        with pytest.raises(ValueError, match="job_id must"):
            client.get_fine_tune(bad)
    assert server.count == 2


def test_extra_response_fields_are_tolerated(client: DashScopeClient, server: ScriptedServer) -> None:
    body = {"request_id": "r", "output": {**seed.GET_DEPLOYMENT["output"], "brand_new_field": {"x": 1}}}
    server.script(ok(body))
    dep = client.get_deployment(DEPLOYED)
    assert dep.model_extra == {"brand_new_field": {"x": 1}}


def test_base_url_with_api_suffix_is_normalised(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(ok(seed.GET_FINE_TUNE))
    with DashScopeClient(
        "https://dashscope-intl.aliyuncs.com/api/v1/",
        API_KEY,
        transport=httpx.MockTransport(server.handler),
        clock=clock,
    ) as c:
        assert c.base_url == "https://dashscope-intl.aliyuncs.com"
        c.get_fine_tune(JOB)
    assert server.last.path == f"/api/v1/fine-tunes/{JOB}"


def test_base_url_path_prefix_is_kept(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(ok(seed.UPLOAD_FILE))
    with DashScopeClient(
        "http://127.0.0.1:8765/proxy", API_KEY, transport=httpx.MockTransport(server.handler), clock=clock
    ) as c:
        c.get_file("f")
    assert server.last.path == "/proxy/compatible-mode/v1/files/f"
