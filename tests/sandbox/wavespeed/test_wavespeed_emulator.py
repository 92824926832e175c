"""The WaveSpeed emulator over plain HTTP calls: envelopes, auth, validation, statuses, limits, files."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig
from reconciler.sandbox import Sandbox

TRAINER = "/api/v3/wavespeed-ai/wan-2.2-image-lora-trainer"
WEEK = 7 * 24 * 3600.0
ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SEED_KEYS = {
    "id",
    "model",
    "outputs",
    "urls",
    "has_nsfw_contents",
    "status",
    "created_at",
    "error",
    "timings",
}


def zip_of(images: int = 10, ext: str = ".jpg") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(images):
            zf.writestr(f"img{i}{ext}", b"\xff\xd8" + bytes([i]))
            zf.writestr(f"img{i}.txt", f"p3r5on {i}")
    return buf.getvalue()


def upload(http: httpx.Client, content: bytes, name: str = "ds.zip") -> str:
    ticket = http.post(
        "/api/v3/media/uploads",
        json={"filename": name, "size": len(content), "content_type": "application/zip"},
    )
    assert ticket.status_code == 200, ticket.text
    data = ticket.json()["data"]
    put = http.put(
        data["upload"]["url"], content=content, headers={**data["upload"]["headers"], "Authorization": ""}
    )
    assert put.status_code == 200, put.text
    return data["download_url"]


def submit(http: httpx.Client, path: str = TRAINER, **body: Any) -> httpx.Response:
    return http.post(path, json=body)


def run(http: httpx.Client, clock: FakeClock, pid: str, step: float = 0.5) -> dict[str, Any]:
    for _ in range(400):
        data = http.get(f"/api/v3/predictions/{pid}/result").json()["data"]
        if data["status"] not in ("created", "processing"):
            return data
        clock.advance(step)
    raise AssertionError("never finished")


def test_auth_is_required_with_the_envelope(sandbox: Sandbox) -> None:
    with httpx.Client(transport=sandbox.transport(), base_url="http://127.0.0.1") as anonymous:
        r = anonymous.get("/api/v3/predictions/x/result")
        assert r.status_code == 401
        assert r.json() == {
            "code": 401,
            "message": "Unauthorized: missing API key (send Authorization: Bearer <key>)",
            "data": None,
        }
        r = anonymous.post(
            "/api/v3/predictions", json={"page": 1, "page_size": 1}, headers={"Authorization": "Basic abc"}
        )
        assert r.status_code == 401 and r.json()["code"] == 401


def test_prediction_objects_look_like_the_seed(http: httpx.Client, clock: FakeClock) -> None:
    url = upload(http, zip_of())
    r = submit(http, data=url, trigger_word="p3r5on", steps=1000, learning_rate=0.0002, lora_rank=32)
    assert r.status_code == 200
    body = r.json()
    assert (body["code"], body["message"]) == (200, "success")
    p = body["data"]
    assert set(p) == SEED_KEYS
    assert re.fullmatch(r"[0-9a-f]{32}", p["id"])
    assert p["model"] == "wavespeed-ai/wan-2.2-image-lora-trainer"
    assert (p["status"], p["outputs"], p["has_nsfw_contents"], p["error"]) == ("created", [], [], "")
    assert p["urls"]["get"] == f"http://127.0.0.1/api/v3/predictions/{p['id']}/result"
    assert ISO_MS_Z.match(p["created_at"]) and p["timings"] == {"inference": 0}

    clock.advance(10 / 600 + 0.01)
    assert http.get(f"/api/v3/predictions/{p['id']}/result").json()["data"]["status"] == "processing"
    done = run(http, clock, p["id"])
    assert done["status"] == "completed" and set(done) == SEED_KEYS
    assert len(done["outputs"]) == 2 and done["has_nsfw_contents"] == [False, False]
    assert re.search(r"_high_noise_lora_[0-9a-f-]{36}\.safetensors$", done["outputs"][0])
    assert re.search(r"_low_noise_lora_[0-9a-f-]{36}\.safetensors$", done["outputs"][1])
    assert done["timings"]["inference"] == 2000  # 1000 steps x 1.2 s / time scale 600
    assert http.get(f"/api/v3/predictions/{p['id']}").json()["data"] == done  # the older poll URL

    lora = http.get(done["outputs"][0], headers={"Authorization": ""})
    assert lora.status_code == 200 and lora.content[8:9] == b"{"


def test_single_lora_trainers_return_one_file(http: httpx.Client, clock: FakeClock) -> None:
    url = upload(http, zip_of(4))
    pid = submit(http, "/api/v3/wavespeed-ai/qwen-image-lora-trainer", data=url).json()["data"]["id"]
    done = run(http, clock, pid)
    assert len(done["outputs"]) == 1 and re.search(r"_lora_[0-9a-f-]{36}\.safetensors$", done["outputs"][0])


@pytest.mark.parametrize(
    ("trainer", "body", "message"),
    [
        ("wan-2.2-image-lora-trainer", {}, "data is required"),
        ("wan-2.2-image-lora-trainer", {"data": "s3://bucket/x.zip"}, "http(s) URL"),
        (
            "wan-2.2-image-lora-trainer",
            {"data": "https://x/y.zip", "steps": 999},
            "steps must be between 1000 and 10000",
        ),
        (
            "wan-2.2-i2v-lora-trainer",
            {"data": "https://x/y.zip", "steps": 1501},
            "steps must be between 50 and 1500",
        ),
        (
            "qwen-image-lora-trainer",
            {"data": "https://x/y.zip", "lora_rank": 65},
            "lora_rank must be between 1 and 64",
        ),
        ("wan-2.2-image-lora-trainer", {"data": "https://x/y.zip", "lora_rank": 129}, "between 1 and 128"),
        (
            "flux-dev-lora-trainer",
            {"data": "https://x/y.zip", "learning_rate": 1.5},
            "learning_rate must be between 0 and 1",
        ),
        ("flux-dev-lora-trainer-turbo", {"data": "https://x/y.zip", "steps": 500}, "between 1000 and 10000"),
        (
            "wan-2.1-14b-lora-trainer",
            {"data": "https://x/y.zip", "steps": "many"},
            "steps must be an integer",
        ),
        (
            "wan-2.2-image-lora-trainer",
            {"data": "https://x/y.zip", "epochs": 3},
            "Unknown parameter(s): epochs",
        ),
        (
            "wan-2.2-image-lora-trainer",
            {"data": "https://x/y.zip", "trigger_word": 5},
            "trigger_word must be a string",
        ),
    ],
)
def test_trainer_inputs_are_validated(
    http: httpx.Client, trainer: str, body: dict[str, Any], message: str
) -> None:
    r = submit(http, f"/api/v3/wavespeed-ai/{trainer}", **body)
    assert r.status_code == 400
    assert r.json()["code"] == 400 and message in r.json()["message"]


def test_unknown_models_are_404(http: httpx.Client) -> None:
    r = submit(http, "/api/v3/wavespeed-ai/sdxl-lora-trainer", data="https://x/y.zip")
    assert r.status_code == 404 and "not found" in r.json()["message"]
    assert http.get("/api/v3/predictions/nope/result").status_code == 404


def test_defaults_are_filled_into_the_history_input(http: httpx.Client) -> None:
    pid = submit(http, "/api/v3/wavespeed-ai/wan-2.1-14b-lora-trainer", data="https://x/y.zip").json()[
        "data"
    ]["id"]
    items = http.post("/api/v3/predictions", json={"page": 1, "page_size": 10}).json()["data"]["items"]
    assert items[0]["id"] == pid
    assert items[0]["input"] == {
        "data": "https://x/y.zip",
        "trigger_word": "p3r5on",
        "steps": 2000,
        "learning_rate": 0.0001,
        "lora_rank": 32,
    }
    assert "executionTime" in items[0]


def test_bronze_tier_concurrency(http: httpx.Client, clock: FakeClock) -> None:
    ids = [submit(http, data="https://x/y.zip", steps=1000).json()["data"]["id"] for _ in range(3)]
    r = submit(http, data="https://x/y.zip")
    assert r.status_code == 429 and r.json()["message"].startswith("Too Many Requests")
    http.post("/api/v3/predictions/delete", json={"ids": ids[:1]})
    assert submit(http, data="https://x/y.zip").status_code == 200
    clock.advance(10)  # all finished
    assert submit(http, data="https://x/y.zip").status_code == 200


def test_fail_jobs_fault(sandbox: Sandbox, clock: FakeClock) -> None:
    faults = FaultConfig(fail_jobs=1.0, fail_message="CUDA out of memory (injected)")
    with httpx.Client(
        transport=sandbox.transport(faults=faults),
        base_url="http://127.0.0.1",
        headers={"Authorization": "Bearer k"},
    ) as http:
        pid = submit(http, data="https://x/y.zip").json()["data"]["id"]
        done = run(http, clock, pid)
    assert (done["status"], done["error"], done["outputs"]) == ("failed", "CUDA out of memory (injected)", [])


def test_data_problems_fail_the_prediction(http: httpx.Client, clock: FakeClock) -> None:
    few = upload(http, zip_of(3))
    not_zip = upload(http, b"plain text", name="notes.zip")
    videos_for_images = upload(http, zip_of(12, ext=".mp4"))
    messages = []
    for url in (few, not_zip, videos_for_images, few.replace("/media/", "/media/x")):
        pid = submit(http, data=url).json()["data"]["id"]
        messages.append(run(http, clock, pid)["error"])
        http.post("/api/v3/predictions/delete", json={"ids": [pid]})
    assert messages[0] == "The training zip must contain at least 10 images (found 3)"
    assert messages[1] == "The training data must be a zip file"
    assert messages[2] == "The training zip must contain at least 10 images (found 0)"
    assert "HTTP 404" in messages[3]


def test_history_paging_filters_and_window(http: httpx.Client, clock: FakeClock) -> None:
    old = submit(http, data="https://x/old.zip").json()["data"]
    clock.advance(WEEK - 100)
    recent = [submit(http, data=f"https://x/{i}.zip").json()["data"] for i in range(3)]
    other = submit(http, "/api/v3/wavespeed-ai/flux-dev-lora-trainer", data="https://x/f.zip")
    assert other.status_code == 429  # 3 running
    clock.advance(200)  # `old` now falls out of the 7-day window

    def page(**body: Any) -> dict[str, Any]:
        r = http.post("/api/v3/predictions", json=body)
        assert r.status_code == 200, r.text
        return r.json()["data"]

    first = page(page=1, page_size=2)
    assert (first["total"], [i["id"] for i in first["items"]]) == (3, [recent[2]["id"], recent[1]["id"]])
    assert [i["id"] for i in page(page=2, page_size=2)["items"]] == [recent[0]["id"]]
    assert page(page=1, page_size=100, model="wavespeed-ai/flux-dev-lora-trainer")["items"] == []
    assert page(page=1, page_size=100, status="completed")["total"] == 3
    assert page(page=1, page_size=100, created_after=recent[1]["created_at"])["total"] == 3
    assert page(page=1, page_size=100, created_before=recent[0]["created_at"])["total"] == 3
    assert page(page=1, page_size=100, created_after="2030-01-01T00:00:00Z")["total"] == 0
    assert all(i["id"] != old["id"] for i in page(page=1, page_size=100)["items"])
    for body, message in (
        ({"page": 1}, "page_size is required"),
        ({"page": 0, "page_size": 1}, "page must be"),
        ({"page": 1, "page_size": 101}, "between 1 and 100"),
        ({"page": 1, "page_size": 1, "created_after": "yesterday"}, "ISO 8601"),
    ):
        r = http.post("/api/v3/predictions", json=body)
        assert r.status_code == 400 and message in r.json()["message"]


def test_delete_counts_and_ignores_unknown_ids(http: httpx.Client) -> None:
    pid = submit(http, data="https://x/y.zip").json()["data"]["id"]
    r = http.post("/api/v3/predictions/delete", json={"ids": [pid, "unknown", pid]})
    assert r.json() == {"code": 200, "message": "success", "data": {"deleted_count": 1}}
    assert http.post("/api/v3/predictions/delete", json={"ids": [pid]}).json()["data"]["deleted_count"] == 0
    assert http.get(f"/api/v3/predictions/{pid}/result").status_code == 404
    assert http.post("/api/v3/predictions/delete", json={"ids": "all"}).status_code == 400


def test_three_upload_endpoints_and_serving(http: httpx.Client, clock: FakeClock) -> None:
    content = zip_of()
    ticket_url = upload(http, content)
    simple = http.post("/api/v3/upload", files={"file": ("a.zip", content, "application/zip")}).json()["data"]
    legacy = http.post("/api/v3/media/upload/binary", files={"file": ("b.zip", content)}).json()["data"]
    assert set(simple) == {"url"} and legacy["filename"] == "b.zip" and legacy["size"] == len(content)
    for url in (ticket_url, simple["url"], legacy["download_url"]):
        got = http.get(url, headers={"Authorization": ""})
        assert got.status_code == 200 and got.content == content
    clock.advance(WEEK)
    assert http.get(ticket_url).status_code == 404  # kept 7 days


def test_ticket_put_rules(http: httpx.Client) -> None:
    data = http.post("/api/v3/media/uploads", json={"filename": "x.zip", "size": 5}).json()["data"]
    put_url = data["upload"]["url"]
    assert data["upload"]["method"] == "PUT"
    assert http.get(data["download_url"]).status_code == 404  # nothing until the PUT arrives
    assert http.put(put_url.replace("signature=", "signature=x"), content=b"12345").status_code == 403
    assert http.put(put_url, content=b"1234").status_code == 400
    assert http.put(put_url, content=b"12345").status_code == 200
    assert http.get(data["download_url"]).content == b"12345"
    too_big = http.post("/api/v3/media/uploads", json={"filename": "x.png", "size": 21 * 1024**2})
    assert too_big.status_code == 400 and "20 MB" in too_big.json()["message"]
    missing = http.post("/api/v3/media/uploads", json={"size": 5})
    assert missing.status_code == 400 and "filename is required" in missing.json()["message"]


def test_outputs_expire_and_die_with_their_prediction(http: httpx.Client, clock: FakeClock) -> None:
    pid = submit(http, data="https://x/y.zip").json()["data"]["id"]
    url = run(http, clock, pid)["outputs"][0]
    assert http.get(url).status_code == 200
    clock.advance(WEEK)
    assert http.get(url).status_code == 404


def test_faults_and_counts_apply(sandbox: Sandbox, http: httpx.Client) -> None:
    submit(http, data="https://x/y.zip")
    assert sandbox.request_counts()["POST /api/v3/wavespeed-ai/{trainer}"] == 1
    objects = sandbox.list_objects("wavespeed_predictions")
    assert len(objects) == 1 and objects[0]["_deleted"] is False and "input" in objects[0]
