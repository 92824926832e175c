"""The DashScope deployment emulation: create, 409, PENDING → RUNNING, scale, DELETING → 404."""

from __future__ import annotations

from sandbox_testkit import Kit


def _deploy(kit: Kit, model_name: str, **extra: object):  # type: ignore[no-untyped-def]
    return kit.http.post(
        "/api/v1/deployments", json={"model_name": model_name, "plan": "lora", "capacity": 1, **extra}
    )


def test_deploy_finetuned_output_pending_then_running_within_5_to_10_minutes(kit: Kit) -> None:
    job = kit.succeeded_job()
    r = _deploy(
        kit,
        job["finetuned_output"],
        aigc_config={"use_input_prompt": False, "prompt": "p", "lora_prompt_default": "d"},
    )
    assert r.status_code == 200, r.text
    dep = r.json()["output"]
    assert dep["status"] == "PENDING" and dep["deployed_model"] == job["finetuned_output"]
    assert (
        dep["base_model"] == "wan2.5-i2v-preview"
        and dep["plan"] == "lora"
        and dep["charge_type"] == "post_paid"
    )
    assert "." in dep["gmt_create"]  # the create response carries milliseconds, like the seed's
    started = kit.clock.now()
    while (
        kit.http.get(f"/api/v1/deployments/{dep['deployed_model']}").json()["output"]["status"] == "PENDING"
    ):
        kit.clock.advance(0.05)
    assert 300 / 600 <= kit.clock.now() - started <= 600 / 600 + 0.05
    got = kit.http.get(f"/api/v1/deployments/{dep['deployed_model']}").json()["output"]
    assert got["status"] == "RUNNING" and "." not in got["gmt_create"]


def test_duplicate_deployed_model_is_a_conflict_unless_a_suffix_is_given(kit: Kit) -> None:
    job = kit.succeeded_job()
    assert _deploy(kit, job["finetuned_output"]).status_code == 200
    r = _deploy(kit, job["finetuned_output"])
    assert r.status_code == 409 and r.json()["code"] == "Conflict"
    assert (
        r.json()["message"]
        == f"Deployed model {job['finetuned_output']} already exists, please specify a suffix"
    )
    r = _deploy(kit, job["finetuned_output"], suffix="v2")
    assert r.status_code == 200 and r.json()["output"]["deployed_model"] == f"{job['finetuned_output']}-v2"
    assert _deploy(kit, job["finetuned_output"], suffix="toolong99").status_code == 400


def test_deploy_an_exported_checkpoint(kit: Kit) -> None:
    job = kit.succeeded_job()
    model = kit.exported_model(job, "checkpoint-20", "my-c20")
    r = _deploy(kit, model)
    assert r.status_code == 200 and r.json()["output"]["model_name"] == model


def test_deploy_validation(kit: Kit) -> None:
    r = _deploy(kit, "wan2.5-i2v-preview-ft-202601010800-zzzz")
    assert r.status_code == 404 and r.json()["code"] == "Model.NotExist"
    job = kit.create_job()
    r = _deploy(kit, job["finetuned_output"])
    assert r.status_code == 400 and "not ready" in r.json()["message"]
    kit.run_until(job["job_id"], "SUCCEEDED")
    for capacity in (0, 1000, 2.5, None):
        r = kit.http.post(
            "/api/v1/deployments",
            json={"model_name": job["finetuned_output"], "plan": "lora", "capacity": capacity},
        )
        assert r.status_code == 400, capacity
    r = kit.http.post(
        "/api/v1/deployments", json={"model_name": job["finetuned_output"], "plan": "lora", "capacity": 1000}
    )
    assert (
        r.json()["message"] == "Invalid capacity (1000), capacity must be multiples of 1 and less than 1000!"
    )
    assert _deploy(kit, job["finetuned_output"], plan="mu").status_code == 400
    assert _deploy(kit, job["finetuned_output"], aigc_config={"typo": 1}).status_code == 400


def test_a_failed_or_deleted_job_cannot_be_deployed(kit: Kit) -> None:
    job = kit.succeeded_job()
    kit.http.delete(f"/api/v1/fine-tunes/{job['job_id']}")
    assert _deploy(kit, job["finetuned_output"]).status_code == 404


def test_scale_updating_then_running_and_only_when_running(kit: Kit) -> None:
    job = kit.succeeded_job()
    name = _deploy(kit, job["finetuned_output"]).json()["output"]["deployed_model"]
    r = kit.http.put(f"/api/v1/deployments/{name}/scale", json={"capacity": 2})
    assert r.status_code == 400 and r.json()["code"] == "UnsupportedOperation"  # still PENDING
    kit.clock.advance(2)
    r = kit.http.put(f"/api/v1/deployments/{name}/scale", json={"deployed_model": name, "capacity": 2})
    assert r.status_code == 200 and r.json()["output"]["status"] == "UPDATING"
    kit.clock.advance(1)
    assert kit.http.get(f"/api/v1/deployments/{name}").json()["output"]["status"] == "RUNNING"
    assert kit.http.put(f"/api/v1/deployments/{name}/scale", json={"capacity": 1000}).status_code == 400


def test_delete_answers_deleting_then_the_deployment_is_gone(kit: Kit) -> None:
    job = kit.succeeded_job()
    name = _deploy(kit, job["finetuned_output"]).json()["output"]["deployed_model"]
    kit.clock.advance(2)
    r = kit.http.delete(f"/api/v1/deployments/{name}")
    assert r.status_code == 200 and r.json()["output"]["status"] == "DELETING"
    assert kit.http.get("/api/v1/deployments").json()["output"]["total"] == 1
    kit.clock.advance(0.2)
    r = kit.http.get(f"/api/v1/deployments/{name}")
    assert r.status_code == 404 and r.json()["code"] == "NotFound" and r.json()["message"] == "Not found."
    assert kit.http.get("/api/v1/deployments").json()["output"]["total"] == 0
    assert kit.http.delete(f"/api/v1/deployments/{name}").status_code == 404
    assert _deploy(kit, job["finetuned_output"]).status_code == 200  # the name is free again
    assert [d["_deleted"] for d in kit.sb.list_objects("deployments")] == [True, False]


def test_list_pages_and_deployable_models(kit: Kit) -> None:
    job = kit.succeeded_job()
    for suffix in ("a", "b", "c"):
        _deploy(kit, job["finetuned_output"], suffix=suffix)
    out = kit.http.get("/api/v1/deployments", params={"page_size": 2}).json()["output"]
    assert out["total"] == 3 and len(out["deployments"]) == 2 and out["page_size"] == 2
    assert kit.http.get("/api/v1/deployments").json()["output"]["page_size"] == 50
    assert kit.http.get("/api/v1/deployments", params={"page_size": 201}).status_code == 400
    models = kit.http.get("/api/v1/deployments/models", params={"model_source": "custom"}).json()["output"]
    assert [m["model_name"] for m in models["models"]] == [job["finetuned_output"]]


def test_the_deployments_list_walks_an_index_not_a_sort() -> None:
    """Each page of `GET /deployments` is read in list order from `dashscope_deployments_live`:
    sorting the whole table per page made a refresh's listing quadratic in the deployments. The
    index holds the listed-or-not columns, so the page's total is counted from it alone."""
    from reconciler.sandbox.dashscope.deployments import _VIEW_COLUMNS, SCHEMA
    from reconciler.sandbox.store import Store

    store = Store(None)
    store.executescript(SCHEMA)
    live = "FROM dashscope_deployments WHERE deleted IS NULL OR gone > 0"
    for order in ("created, id", "created DESC, id DESC"):
        plan = store.query(
            f"EXPLAIN QUERY PLAN SELECT {_VIEW_COLUMNS} {live} ORDER BY {order} LIMIT 200 OFFSET 200"
        )
        details = " ".join(str(r["detail"]) for r in plan)
        assert "dashscope_deployments_live" in details and "TEMP B-TREE" not in details
    counted = " ".join(str(r["detail"]) for r in store.query(f"EXPLAIN QUERY PLAN SELECT count(*) {live}"))
    assert "COVERING INDEX dashscope_deployments_live" in counted
    store.close()
