"""The WaveSpeed emulator in `documented` fidelity: never more helpful than the documents (fidelity.py)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox

TRAINER = "/api/v3/wavespeed-ai/wan-2.2-image-lora-trainer"
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
NANOS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
MILLIS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SCALE = 600.0


def zip_of(images: int = 10) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(images):
            zf.writestr(f"img{i}.jpg", b"\xff\xd8" + bytes([i]))
    return buf.getvalue()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=SCALE, fidelity="permissive")
    yield sb
    sb.close()


def client(sandbox: Sandbox, fidelity: str) -> httpx.Client:
    return httpx.Client(
        transport=sandbox.transport(fidelity=fidelity),
        base_url="http://127.0.0.1",
        headers={"Authorization": "Bearer ws-key"},
    )


@pytest.fixture
def documented(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with client(sandbox, "documented") as http:
        yield http


@pytest.fixture
def permissive(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with client(sandbox, "permissive") as http:
        yield http


def submit(http: httpx.Client, **body: Any) -> dict[str, Any]:
    r = http.post(TRAINER, json={"data": "https://x/y.zip", **body})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def history(http: httpx.Client, **body: Any) -> dict[str, Any]:
    r = http.post("/api/v3/predictions", json={"page": 1, "page_size": 100, **body})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def status(http: httpx.Client, pid: str) -> str:
    return http.get(f"/api/v3/predictions/{pid}/result").json()["data"]["status"]


# --- no `input` anywhere ------------------------------------------------------------------------
def test_no_answer_carries_the_input(documented: httpx.Client, clock: FakeClock) -> None:
    p = submit(documented, steps=1200)
    assert set(p) == SEED_KEYS
    clock.advance(3600)
    assert set(documented.get(f"/api/v3/predictions/{p['id']}/result").json()["data"]) == SEED_KEYS
    page = history(documented)
    assert set(page) == {"page", "items"}  # no total, no page_size: the newer example's shape
    item = page["items"][0]
    assert "input" not in item and "has_nsfw_contents" not in item
    assert set(item) == SEED_KEYS - {"has_nsfw_contents"} | {"executionTime"}
    assert NANOS_Z.match(item["created_at"]) and item["created_at"][:23] == p["created_at"][:23]


def test_permissive_keeps_its_conveniences(permissive: httpx.Client) -> None:
    p = submit(permissive, steps=1200)
    page = history(permissive)
    assert page["total"] == 1 and page["page_size"] == 100
    item = page["items"][0]
    assert item["input"]["steps"] == 1200 and item["input"]["data"] == "https://x/y.zip"
    assert MILLIS_Z.match(item["created_at"]) and item["created_at"] == p["created_at"]


def test_the_history_is_filtered_and_paged_the_same_way(documented: httpx.Client, clock: FakeClock) -> None:
    first = submit(documented)
    clock.advance(1)
    second = submit(documented)
    other = documented.post("/api/v3/wavespeed-ai/flux-dev-lora-trainer", json={"data": "https://x/f.zip"})
    assert other.status_code == 200
    assert [
        i["id"] for i in history(documented, model="wavespeed-ai/wan-2.2-image-lora-trainer")["items"]
    ] == [second["id"], first["id"]]
    assert [i["id"] for i in history(documented, created_after=second["created_at"])["items"]][-1] == second[
        "id"
    ]
    one = documented.post("/api/v3/predictions", json={"page": 2, "page_size": 1}).json()["data"]
    assert set(one) == {"page", "items"} and len(one["items"]) == 1


# --- statuses: created for a while, queued over the cap -----------------------------------------
def test_created_lasts_longer_before_processing(
    documented: httpx.Client, permissive: httpx.Client, clock: FakeClock
) -> None:
    doc, perm = submit(documented), submit(permissive)
    clock.advance(30 / SCALE)  # 30 emulated seconds
    assert (status(documented, doc["id"]), status(documented, perm["id"])) == ("created", "processing")
    clock.advance(100 / SCALE)
    assert status(documented, doc["id"]) == "processing"


def test_over_the_cap_a_task_waits_instead_of_a_429(documented: httpx.Client, clock: FakeClock) -> None:
    running = [submit(documented, steps=1000)["id"] for _ in range(2)]  # Bronze runs 2 at a time [doc]
    third = submit(documented, steps=1000)  # "if you submit a 3rd, it will wait until one finishes"
    assert third["status"] == "created"
    clock.advance(200 / SCALE)
    assert [status(documented, pid) for pid in running] == ["processing", "processing"]
    assert status(documented, third["id"]) == "created"
    clock.advance(1200 / SCALE)  # 1000 steps x 1.2 s after the 120 s queue: the first two are done
    assert [status(documented, pid) for pid in running] == ["completed", "completed"]
    assert status(documented, third["id"]) == "processing"


def test_permissive_answers_429_over_the_cap(permissive: httpx.Client) -> None:
    for _ in range(3):
        submit(permissive)
    r = permissive.post(TRAINER, json={"data": "https://x/y.zip"})
    assert r.status_code == 429 and r.json()["message"].startswith("Too Many Requests")


# --- uploads: opaque URLs -----------------------------------------------------------------------
def _ticket(http: httpx.Client, content: bytes, name: str) -> tuple[dict[str, Any], str]:
    data = http.post(
        "/api/v3/media/uploads",
        json={"filename": name, "size": len(content), "content_type": "application/zip"},
    ).json()["data"]
    put = http.put(data["upload"]["url"], content=content, headers=data["upload"]["headers"])
    assert put.status_code == 200, put.text
    return data, data["download_url"]


def _uploads(http: httpx.Client, content: bytes, name: str) -> dict[str, str]:
    ticket, ticket_url = _ticket(http, content, name)
    simple = http.post("/api/v3/upload", files={"file": (name, content, "application/zip")}).json()["data"]
    legacy = http.post("/api/v3/media/upload/binary", files={"file": (name, content)}).json()["data"]
    assert legacy["filename"] == name and legacy["size"] == len(content)  # [doc]: "Original filename"
    return {"ticket": ticket_url, "simple": simple["url"], "legacy": legacy["download_url"]}


def test_every_upload_generation_answers_an_opaque_url(documented: httpx.Client) -> None:
    content = zip_of()
    urls = _uploads(documented, content, "money-rain-ab12ab12ab12ab12.zip")
    for endpoint, url in urls.items():
        assert "money-rain" not in url and "ab12" not in url, endpoint
        assert re.fullmatch(r"http://127\.0\.0\.1/sandbox-files/wavespeed/uploads/[0-9a-f]{24}\.zip", url), (
            url
        )
        got = documented.get(url, headers={"Authorization": ""})
        assert got.status_code == 200 and got.content == content
    assert len(set(urls.values())) == 3


def test_the_ticket_answer_has_only_what_the_sdk_reads(
    documented: httpx.Client, permissive: httpx.Client
) -> None:
    doc, _ = _ticket(documented, b"12345", "a.zip")
    perm, _ = _ticket(permissive, b"12345", "a.zip")
    assert set(doc) == {"upload", "download_url"}
    assert set(perm) == {"upload", "download_url", "filename", "size"}


def test_permissive_urls_keep_the_file_name(permissive: httpx.Client) -> None:
    for url in _uploads(permissive, zip_of(), "money-rain.zip").values():
        assert url.endswith("/money-rain.zip")
        assert permissive.get(url).status_code == 200


def test_an_opaque_url_must_be_exact(documented: httpx.Client) -> None:
    _, url = _ticket(documented, zip_of(), "x.zip")
    assert documented.get(url.replace(".zip", ".png")).status_code == 404
    assert documented.get(url.replace(".zip", "")).status_code == 404


def test_training_reads_data_through_an_opaque_url(documented: httpx.Client, clock: FakeClock) -> None:
    _, good = _ticket(documented, zip_of(), "good.zip")
    _, few = _ticket(documented, zip_of(3), "few.zip")
    ok, bad = submit(documented, data=good), submit(documented, data=few)
    clock.advance(3600)
    assert status(documented, ok["id"]) == "completed"
    failed = documented.get(f"/api/v3/predictions/{bad['id']}/result").json()["data"]
    assert (failed["status"], failed["error"]) == (
        "failed",
        "The training zip must contain at least 10 images (found 3)",
    )


def test_too_large_is_the_documented_413(documented: httpx.Client, permissive: httpx.Client) -> None:
    body = {"filename": "x.png", "size": 21 * 1024**2}
    assert documented.post("/api/v3/media/uploads", json=body).status_code == 413
    assert permissive.post("/api/v3/media/uploads", json=body).status_code == 400


def test_introspection_still_shows_the_input(sandbox: Sandbox, documented: httpx.Client) -> None:
    submit(documented, steps=1300)
    assert sandbox.list_objects("wavespeed_predictions")[0]["input"]["steps"] == 1300
