"""The DashScope fine-tune emulation: validation, the status machine, queueing, quota, logs, checkpoints."""

from __future__ import annotations

import pytest
from sandbox_testkit import MODEL, Kit

from reconciler.sandbox.dashscope.training import JobFacts, schedule


def test_create_fills_defaults_and_follows_the_documented_shapes(kit: Kit) -> None:
    file_id = kit.upload(samples=10)
    job = kit.create_job(file_id, n_epochs=10, eval_epochs=2)
    assert job["status"] == "PENDING"
    assert job["job_id"].startswith("ft-202601010800-") and len(job["job_id"]) == len("ft-202601010800-") + 4
    assert job["job_name"] == job["job_id"]
    assert job["finetuned_output"] == f"{MODEL}-{job['job_id']}"
    assert job["hyper_parameters"] == {
        "n_epochs": 10,
        "batch_size": 2,
        "learning_rate": 2e-5,
        "split": 0.9,
        "eval_epochs": 2,
        "max_pixels": 36864,
        "max_split_val_dataset_sample": 5,
        "save_total_limit": 20,
        "lora_rank": 32,
        "lora_alpha": 32,
    }
    assert job["max_output_cnt"] == 20
    assert "end_time" not in job and "usage" not in job and "output_cnt" not in job
    assert job["create_time"] == "2026-01-01 08:00:00"  # China time, like the service


def test_wan22_models_use_their_own_defaults(kit: Kit) -> None:
    job = kit.create_job(model="wan2.2-kf2v-flash")
    assert job["hyper_parameters"]["batch_size"] == 4
    assert job["hyper_parameters"]["max_pixels"] == 262144


@pytest.mark.parametrize(
    ("body_change", "status", "code", "fragment"),
    [
        ({"training_file_ids": []}, 400, "InvalidParameter", "Missing training files"),
        ({"training_file_ids": ["file-ft-nope"]}, 400, "InvalidParameter", "File not found."),
        ({"validation_file_ids": ["file-ft-nope"]}, 400, "InvalidParameter", "File not found."),
        ({"model": "qwen-nope"}, 404, "Model.NotExist", "Model: qwen-nope not found!"),
        ({"training_type": "sft"}, 400, "InvalidParameter", "efficient_sft"),
        ({"training_type": None}, 400, "InvalidParameter", "training_type is required"),
        ({"finetuned_output": "x"}, 400, "InvalidParameter", "finetuned_output"),
        ({"hyper_parameters": {"batch_size": 4}}, 400, "InvalidParameter", "fixed at 2"),
        ({"hyper_parameters": {"n_epochs": 400, "eval_epochs": 39}}, 400, "InvalidParameter", "n_epochs/10"),
        ({"hyper_parameters": {"max_pixels": 262144}}, 400, "InvalidParameter", "between 16384 and 36864"),
        ({"hyper_parameters": {"split": 1.0}}, 400, "InvalidParameter", "(0, 1)"),
        ({"hyper_parameters": {"lora_rank": 48}}, 400, "InvalidParameter", "power of two"),
        ({"hyper_parameters": {"lora_alpha": 0}}, 400, "InvalidParameter", "power of two"),
        ({"hyper_parameters": {"save_total_limit": 0}}, 400, "InvalidParameter", "save_total_limit"),
        ({"hyper_parameters": {"n_epochs": "10"}}, 400, "InvalidParameter", "must be an integer"),
        ({"hyper_parameters": {"learning_rat": 1e-4}}, 400, "InvalidParameter", "Unknown hyper_parameters"),
    ],
)
def test_create_validates_like_the_real_api(
    kit: Kit, body_change: dict, status: int, code: str, fragment: str
) -> None:
    body = {
        "model": MODEL,
        "training_file_ids": [kit.upload()],
        "training_type": "efficient_sft",
        "hyper_parameters": {"n_epochs": 10, "eval_epochs": 2},
    }
    body.update(body_change)
    if body.get("training_type") is None:
        body.pop("training_type")
    r = kit.http.post("/api/v1/fine-tunes", json=body)
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["code"] == code and fragment in payload["message"]
    assert payload["request_id"] and r.headers["x-request-id"] == payload["request_id"]
    assert kit.sb.list_objects("fine_tunes") == []


def test_status_machine_from_pending_to_succeeded_with_end_time_usage_and_outputs(kit: Kit) -> None:
    job = kit.create_job()  # 10 samples / batch 2 = 5 steps per epoch, 10 epochs = 50 steps
    seen = []
    while (status := kit.status(job["job_id"])) != "SUCCEEDED":
        if not seen or seen[-1] != status:
            seen.append(status)
        kit.clock.advance(0.05)
    assert seen == ["PENDING", "RUNNING"]
    done = kit.job(job["job_id"])
    assert done["usage"] == 50 * 2 * 270
    assert done["output_cnt"] == 5 and done["max_output_cnt"] == 20
    assert done["end_time"] >= done["create_time"]
    # Duration derives from steps: 50 steps × 24 s at 600× ≈ 2 s training + post-processing ≈ 1.7 s.
    assert 3.0 < kit.clock.now() - 1_767_225_600.0 < 4.5


def test_training_time_grows_with_the_number_of_samples_in_the_zip(kit: Kit) -> None:
    small = kit.create_job(kit.upload(samples=4))
    kit.run_until(small["job_id"], "SUCCEEDED", step=0.05)
    t_small = kit.clock.now()
    big = kit.create_job(kit.upload(samples=40))
    kit.run_until(big["job_id"], "SUCCEEDED", step=0.05)
    small_s, big_s = t_small - 1_767_225_600.0, kit.clock.now() - t_small
    # 20 vs 200 steps at 24 s/step ÷ 600, plus the same ~1.8 s of pending and post-processing.
    assert small_s == pytest.approx(0.1 + 0.8 + 1000 / 600, abs=0.1)
    assert big_s == pytest.approx(0.1 + 8.0 + 1000 / 600, abs=0.1)


def test_one_job_runs_at_a_time_the_next_queues_in_creation_order(kit: Kit) -> None:
    first = kit.create_job()
    second = kit.create_job()
    third = kit.create_job()
    kit.clock.advance(0.5)
    assert [kit.status(j["job_id"]) for j in (first, second, third)] == ["RUNNING", "QUEUING", "QUEUING"]
    kit.run_until(first["job_id"], "SUCCEEDED", step=0.05)
    assert kit.status(second["job_id"]) == "RUNNING"
    assert kit.status(third["job_id"]) == "QUEUING"
    logs = kit.http.get(f"/api/v1/fine-tunes/{second['job_id']}/logs").json()["output"]["logs"]
    assert any("waiting for the running fine-tune job" in line for line in logs)


def test_canceling_the_runner_lets_the_queue_move(kit: Kit) -> None:
    first, second = kit.create_job(), kit.create_job()
    kit.clock.advance(0.5)
    r = kit.http.post(f"/api/v1/fine-tunes/{first['job_id']}/cancel")
    assert r.status_code == 200 and r.json()["output"] == {"status": "success"}
    assert kit.status(first["job_id"]) == "CANCELING"
    kit.clock.advance(0.1)
    assert kit.status(first["job_id"]) == "CANCELED"
    assert kit.status(second["job_id"]) == "RUNNING"
    canceled = kit.job(first["job_id"])
    assert "end_time" in canceled and canceled["usage"] < 50 * 2 * 270 and canceled["output_cnt"] == 0


def test_cancel_and_delete_rules(kit: Kit) -> None:
    job = kit.create_job()
    job_id = job["job_id"]
    r = kit.http.delete(f"/api/v1/fine-tunes/{job_id}")  # PENDING: training not finished
    assert r.status_code == 400 and r.json()["code"] == "UnsupportedOperation"
    assert (
        r.json()["message"]
        == "The fine-tune job can not be deleted because it is succeeded,failed or canceled"
    )
    kit.run_until(job_id, "SUCCEEDED")
    r = kit.http.post(f"/api/v1/fine-tunes/{job_id}/cancel")
    assert r.status_code == 400 and r.json()["code"] == "UnsupportedOperation"
    r = kit.http.delete(f"/api/v1/fine-tunes/{job_id}")
    assert r.status_code == 200 and r.json()["output"] == {"status": "success"}
    for path in ("", "/logs", "/checkpoints", "/validation-results"):
        r = kit.http.get(f"/api/v1/fine-tunes/{job_id}{path}")
        assert r.status_code == 404 and r.json()["code"] == "NotFound"
    assert kit.http.get("/api/v1/fine-tunes").json()["output"]["total"] == 0
    assert kit.sb.list_objects("fine_tunes")[0]["_deleted"] is True


def test_cancel_a_queued_job_never_runs_it(kit: Kit) -> None:
    first, second = kit.create_job(), kit.create_job()
    kit.clock.advance(0.5)
    assert kit.http.post(f"/api/v1/fine-tunes/{second['job_id']}/cancel").status_code == 200
    kit.clock.advance(1)
    out = kit.job(second["job_id"])
    assert out["status"] == "CANCELED" and out["usage"] == 0
    assert kit.status(first["job_id"]) == "RUNNING"


def test_quota_of_twenty_running_or_succeeded_jobs(kit: Kit) -> None:
    file_id = kit.upload()
    jobs = [kit.create_job(file_id) for _ in range(20)]
    r = kit.create_job_response(file_id)
    assert r.status_code == 429
    assert r.json()["code"] == "Throttling.AllocationQuota"
    assert r.json()["message"] == "Only 20 fine-tune job in running or succeeded allowed per user."
    # A canceled job frees its slot in the quota.
    kit.http.post(f"/api/v1/fine-tunes/{jobs[-1]['job_id']}/cancel")
    kit.clock.advance(1)
    assert kit.create_job_response(file_id).status_code == 200


def test_list_pages_filters_by_model_and_caps_page_size(kit: Kit) -> None:
    ids = [kit.create_job()["job_id"] for _ in range(3)]
    other = kit.create_job(model="wan2.2-i2v-flash")["job_id"]
    out = kit.http.get("/api/v1/fine-tunes", params={"page_no": 1, "page_size": 2}).json()["output"]
    assert out["total"] == 4 and out["page_no"] == 1 and out["page_size"] == 2
    assert [j["job_id"] for j in out["jobs"]] == [other, ids[2]]  # newest first
    out = kit.http.get("/api/v1/fine-tunes", params={"model": MODEL}).json()["output"]
    assert sorted(j["job_id"] for j in out["jobs"]) == sorted(ids)
    assert kit.http.get("/api/v1/fine-tunes", params={"page_size": 101}).status_code == 400


def test_logs_page_with_offset_and_line_and_end_with_ft_complete(kit: Kit) -> None:
    job = kit.succeeded_job()
    url = f"/api/v1/fine-tunes/{job['job_id']}/logs"
    out = kit.http.get(url, params={"offset": 0, "line": 1000}).json()["output"]
    assert out["logs"][-1].endswith("##FT_COMPLETE##") and out["total"] == len(out["logs"])
    assert any("Actual number of consumed tokens is" in line for line in out["logs"])
    page = kit.http.get(url, params={"offset": 2, "line": 3}).json()["output"]
    assert page["logs"] == out["logs"][2:5] and page["total"] == out["total"]
    assert kit.http.get(url, params={"line": 1001}).status_code == 400


def test_checkpoints_every_eval_epochs_keeping_the_last_save_total_limit(kit: Kit) -> None:
    job = kit.create_job(n_epochs=20, eval_epochs=4, save_total_limit=3)  # 5 steps per epoch
    url = f"/api/v1/fine-tunes/{job['job_id']}"
    kit.clock.advance(1)
    assert kit.status(job["job_id"]) == "RUNNING"
    assert kit.http.get(f"{url}/validation-results").json()["output"] == []  # empty until training finishes
    assert kit.http.get(f"{url}/checkpoints").json()["output"] == []
    done = kit.run_until(job["job_id"], "SUCCEEDED")
    assert done["output_cnt"] == 3 and done["max_output_cnt"] == 3
    views = kit.http.get(f"{url}/checkpoints").json()["output"]
    assert [v["checkpoint"] for v in views] == ["checkpoint-100", "checkpoint-80", "checkpoint-60"]
    assert [v["step"] for v in views] == [100, 80, 60]
    assert all(v["status"] == "PENDING" and "model_name" not in v for v in views)
    assert views[0]["full_name"] == f"{job['job_id']}-checkpoint-100" == views[0]["checkpoint_id"]
    results = kit.http.get(f"{url}/validation-results").json()["output"]
    assert results == [
        {"checkpoint": "checkpoint-100"},
        {"checkpoint": "checkpoint-60"},
        {"checkpoint": "checkpoint-80"},
    ]


def test_validation_details_show_prompts_from_the_dataset(kit: Kit) -> None:
    job = kit.succeeded_job()
    out = kit.http.get(f"/api/v1/fine-tunes/{job['job_id']}/validation-details/checkpoint-50").json()[
        "output"
    ]
    assert out["total"] == 1  # min(10 × (1 − 0.9), 5)
    item = out["list"][0]
    assert item["prompt"] == "prompt 10 s86b5p"
    # a signed URL (Expires) on the sandbox's own host, fetchable without the API key, until it expires
    assert "Expires=" in item["video_path"]
    path = "/" + item["video_path"].split("/", 3)[3]
    video = kit.http.get(path, headers={"Authorization": ""})
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert item["first_frame_path"].split("?")[0].endswith("image_10.jpg")
    kit.clock.advance(24 * 3600 + 1)
    assert kit.http.get(path).status_code == 404
    r = kit.http.get(f"/api/v1/fine-tunes/{job['job_id']}/validation-details/checkpoint-7")
    assert r.status_code == 404


def test_export_goes_pending_processing_succeeded_with_a_server_assigned_name(kit: Kit) -> None:
    job = kit.succeeded_job()
    base = f"/api/v1/fine-tunes/{job['job_id']}"
    r = kit.http.get(f"{base}/export/checkpoint-30", params={"model_name": "money-rain-c30"})
    assert r.status_code == 200 and r.json()["output"] is True
    states = []
    for _ in range(40):
        view = next(
            v
            for v in kit.http.get(f"{base}/checkpoints").json()["output"]
            if v["checkpoint"] == "checkpoint-30"
        )
        if not states or states[-1] != view["status"]:
            states.append(view["status"])
        kit.clock.advance(0.05)
    assert states == ["PENDING", "PROCESSING", "SUCCEEDED"]
    assert view["model_name"] == f"{job['finetuned_output']}-c30"
    assert view["model_display_name"] == "money-rain-c30"
    # Same name again: accepted (no-op); the name on another checkpoint: refused (globally unique).
    assert (
        kit.http.get(f"{base}/export/checkpoint-30", params={"model_name": "money-rain-c30"}).json()["output"]
        is True
    )
    r = kit.http.get(f"{base}/export/checkpoint-40", params={"model_name": "money-rain-c30"})
    assert r.status_code == 400 and "globally unique" in r.json()["message"]
    assert kit.http.get(f"{base}/export/checkpoint-40").status_code == 400  # model_name missing
    assert kit.http.get(f"{base}/export/checkpoint-41", params={"model_name": "x"}).status_code == 404


def test_export_refused_before_success_after_failure_and_after_expiry(kit: Kit) -> None:
    job = kit.create_job()
    r = kit.http.get(
        f"/api/v1/fine-tunes/{job['job_id']}/export/checkpoint-50", params={"model_name": "early"}
    )
    assert r.status_code == 400 and r.json()["code"] == "UnsupportedOperation"
    kit.run_until(job["job_id"], "SUCCEEDED")
    kit.clock.advance(16 * 24 * 3600)  # checkpoints expire after 15 days
    r = kit.http.get(
        f"/api/v1/fine-tunes/{job['job_id']}/export/checkpoint-50", params={"model_name": "late"}
    )
    assert r.status_code == 400 and "expired" in r.json()["message"]


def test_schedule_is_pure_and_never_rewrites_observed_history() -> None:
    def facts(job_id: str, seq: int, created: float, cancel_at: float | None = None) -> JobFacts:
        return JobFacts(job_id, seq, created, 1.0, 10.0, 2.0, 1.0, None, cancel_at)

    before = schedule([facts("a", 1, 0.0), facts("b", 2, 0.5), facts("c", 3, 0.6)])
    assert before["b"].start == before["a"].end == 13.0
    assert before["c"].start == before["b"].end
    after = schedule([facts("a", 1, 0.0, cancel_at=5.0), facts("b", 2, 0.5), facts("c", 3, 0.6)])
    assert after["a"].status(5.5) == "CANCELING" and after["a"].status(6.0) == "CANCELED"
    assert after["b"].start == 6.0  # moved, but only to after the cancel
    for t in (0.0, 1.0, 2.0, 4.9):
        assert {k: v.status(t) for k, v in before.items()} == {k: v.status(t) for k, v in after.items()}
