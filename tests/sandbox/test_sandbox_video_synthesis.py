"""The emulated video synthesis of a deployed Wan LoRA (providers.md §1.7): what it refuses, and
the documented UNKNOWN for a task id that does not exist. The happy path runs end to end in
tests/engine/test_dashscope_samples.py."""

from __future__ import annotations

from sandbox_testkit import Kit

I2V = "/api/v1/services/aigc/video-generation/video-synthesis"
KF2V = "/api/v1/services/aigc/image2video/video-synthesis"
ASYNC = {"X-DashScope-Async": "enable"}
BODY = {"model": "m", "input": {"img_url": "https://example.com/a.png"}, "parameters": {"resolution": "720P"}}


def test_a_call_without_the_async_header_is_refused(kit: Kit) -> None:
    r = kit.http.post(I2V, json=BODY)
    assert r.status_code == 403 and r.json()["code"] == "AccessDenied"
    assert kit.sb.list_objects("tasks") == []


def test_a_model_that_is_not_a_running_deployment_is_refused(kit: Kit) -> None:
    for path in (I2V, KF2V):
        r = kit.http.post(path, json=BODY, headers=ASYNC)
        assert r.status_code == 400 and "is not a running deployment" in r.json()["message"]
    assert kit.sb.list_objects("tasks") == []


def test_an_unknown_task_is_unknown_not_an_error(kit: Kit) -> None:
    r = kit.http.get("/api/v1/tasks/0000-nope")
    assert r.status_code == 200 and r.json()["output"] == {"task_id": "0000-nope", "task_status": "UNKNOWN"}
