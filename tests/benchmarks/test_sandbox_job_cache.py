"""The sandbox's per-store cache of scheduled fine-tune jobs never answers with stale jobs.

Added with the benchmark fix that made `load_jobs` O(1) per request when nothing changed: a write
through another Sandbox on the same database file (another process, in real use) must be seen by
a Sandbox that has already cached the table — new jobs, cancels and deletes alike.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox

AUTH = {"Authorization": "Bearer sk-test"}


@pytest.fixture(autouse=True)
def _no_sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("RECONCILER_SANDBOX_TIME_SCALE", raising=False)


def _zip(samples: int = 10) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        lines = [
            json.dumps(
                {"prompt": f"p {i}", "first_frame_path": f"image_{i}.jpg", "video_path": f"video_{i}.mp4"}
            )
            for i in range(1, samples + 1)
        ]
        zf.writestr("data.jsonl", "\n".join(lines) + "\n")
        for i in range(1, samples + 1):
            zf.writestr(f"image_{i}.jpg", b"\xff\xd8fake")
    return buf.getvalue()


def _client(sb: Sandbox) -> httpx.Client:
    return httpx.Client(transport=sb.transport(), base_url="http://sandbox", headers=AUTH)


def _create(http: httpx.Client) -> str:
    r = http.post(
        "/compatible-mode/v1/files", files={"file": ("ds.zip", _zip())}, data={"purpose": "fine-tune"}
    )
    assert r.status_code == 200, r.text
    r = http.post(
        "/api/v1/fine-tunes",
        json={
            "model": "wan2.5-i2v-preview",
            "training_file_ids": [r.json()["id"]],
            "training_type": "efficient_sft",
            "hyper_parameters": {"n_epochs": 10, "eval_epochs": 2},
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["output"]["job_id"]


def test_writes_from_another_sandbox_on_the_same_file_are_seen(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    clock = FakeClock()
    a, b = Sandbox(db, clock=clock, seed=1), Sandbox(db, clock=clock, seed=1)
    try:
        ha, hb = _client(a), _client(b)
        first = _create(ha)
        assert ha.get(f"/api/v1/fine-tunes/{first}").json()["output"]["status"] == "PENDING"  # cached in a

        second = _create(hb)  # a new row, written by b
        assert ha.get(f"/api/v1/fine-tunes/{second}").status_code == 200
        assert ha.get("/api/v1/fine-tunes").json()["output"]["total"] == 2

        clock.advance(0.5)
        assert hb.post(f"/api/v1/fine-tunes/{second}/cancel").status_code == 200  # cancel_at, written by b
        clock.advance(1)
        assert ha.get(f"/api/v1/fine-tunes/{second}").json()["output"]["status"] == "CANCELED"

        assert hb.delete(f"/api/v1/fine-tunes/{second}").status_code == 200  # deleted, written by b
        r = ha.get(f"/api/v1/fine-tunes/{second}")
        assert r.status_code == 404 and r.json()["code"] == "NotFound"
        assert ha.get("/api/v1/fine-tunes").json()["output"]["total"] == 1
    finally:
        a.close()
        b.close()


def test_jobs_appended_one_by_one_are_scheduled_exactly_as_a_full_replay(tmp_path: Path) -> None:
    from reconciler.sandbox.dashscope import fine_tunes

    db = tmp_path / "sandbox.db"
    clock = FakeClock()
    sb = Sandbox(db, clock=clock, seed=1)
    try:
        http = _client(sb)
        ids = []
        for _ in range(5):
            ids.append(_create(http))  # each create extends the cached schedule incrementally
            http.get(f"/api/v1/fine-tunes/{ids[-1]}")
            clock.advance(0.5)
        cached = {i: http.get(f"/api/v1/fine-tunes/{i}").json()["output"]["status"] for i in ids}
        timelines = {i: j.timeline for i, j in fine_tunes._jobs_cache[sb.store].jobs.items()}
    finally:
        sb.close()
    fresh = Sandbox(db, clock=clock, seed=1)  # a new process: the whole account replayed
    try:
        http = _client(fresh)
        assert {i: http.get(f"/api/v1/fine-tunes/{i}").json()["output"]["status"] for i in ids} == cached
        assert {i: j.timeline for i, j in fine_tunes._jobs_cache[fresh.store].jobs.items()} == timelines
        assert "QUEUING" in cached.values()  # the jobs really queue behind each other
    finally:
        fresh.close()
