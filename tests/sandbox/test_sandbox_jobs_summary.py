"""The sandbox's cached fine-tune jobs answer as a fresh replay of the table, whatever wrote it.

The cache's fingerprint is a summary row the database's triggers keep (`fine_tunes.SCHEMA`), and
a deployment create looks its model up in an index extended job by job. A random walk of
creates, cancels, deletes, exports and deployment creates, through two Sandboxes on one file
(two processes, in real use), with the summary row removed now and then: after every step the
cached Sandbox answers every job, the job list and every checkpoint list as a Sandbox opened
fresh on a copy of the file does, and each deployment create (tried on a copy first) is answered
alike by both.
"""

from __future__ import annotations

import io
import json
import random
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox

AUTH = {"Authorization": "Bearer sk-test"}
HOUR = 3600.0


@pytest.fixture(autouse=True)
def _no_sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_SANDBOX_TIME_SCALE", "RECONCILER_SANDBOX_FIDELITY"):
        monkeypatch.delenv(name, raising=False)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        lines = [
            json.dumps(
                {"prompt": f"p {i}", "first_frame_path": f"image_{i}.jpg", "video_path": f"video_{i}.mp4"}
            )
            for i in range(1, 6)
        ]
        zf.writestr("data.jsonl", "\n".join(lines) + "\n")
        for i in range(1, 6):
            zf.writestr(f"image_{i}.jpg", b"\xff\xd8fake")
    return buf.getvalue()


def _client(sb: Sandbox) -> httpx.Client:
    return httpx.Client(transport=sb.transport(), base_url="http://sandbox", headers=AUTH)


def _copy(db: Path, to: Path) -> Path:
    """What the file holds now (committed), as another process opening it would see it."""
    to.unlink(missing_ok=True)
    with sqlite3.connect(db) as src, sqlite3.connect(to) as dst:
        src.backup(dst)
    return to


def _answers(http: httpx.Client, ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"list": http.get("/api/v1/fine-tunes", params={"page_size": 100}).json()}
    for job_id in ids:
        r = http.get(f"/api/v1/fine-tunes/{job_id}")
        out[job_id] = (r.status_code, r.json().get("output"))
        r = http.get(f"/api/v1/fine-tunes/{job_id}/checkpoints")
        out[f"{job_id}/checkpoints"] = (r.status_code, r.json().get("output"))
    for body in out.values():  # request ids differ between two Sandboxes; the rest must not
        if isinstance(body, dict):
            body.pop("request_id", None)
    return out


def _deploy(http: httpx.Client, model_name: str) -> tuple[int, str | None, str | None]:
    r = http.post("/api/v1/deployments", json={"model_name": model_name, "plan": "lora", "capacity": 1})
    return r.status_code, r.json().get("code"), r.json().get("message")


@pytest.mark.parametrize("seed", range(6))
def test_cached_jobs_answer_as_a_fresh_replay_through_any_writer(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    db, copy = tmp_path / "sandbox.db", tmp_path / "copy.db"
    clock = FakeClock()
    cached, other = Sandbox(db, clock=clock, seed=1), Sandbox(db, clock=clock, seed=1)
    ha, hb = _client(cached), _client(other)
    ids: list[str] = []
    names: list[str] = ["not-a-model"]  # what a deployment may ask for: outputs, exports, nonsense
    file_id = ha.post(
        "/compatible-mode/v1/files", files={"file": ("ds.zip", _zip())}, data={"purpose": "fine-tune"}
    ).json()["id"]
    kinds: set[str] = set()
    try:
        for _ in range(60):
            http = rng.choice((ha, hb))
            op = rng.choices(
                ["create", "cancel", "delete", "wait", "export", "deploy", "drop summary"],
                [4, 1, 1, 3, 2, 3, 1],
            )[0]
            if op == "create" and len(ids) < 12:
                r = http.post(
                    "/api/v1/fine-tunes",
                    json={
                        "model": "wan2.5-i2v-preview",
                        "training_file_ids": [file_id],
                        "training_type": "efficient_sft",
                        "hyper_parameters": {"n_epochs": 4, "eval_epochs": 2},
                    },
                )
                assert r.status_code == 200, r.text
                job = r.json()["output"]
                ids.append(job["job_id"])
                names.append(f"wan2.5-i2v-preview-{job['job_id']}")
            elif op in ("cancel", "delete") and ids:
                job_id = rng.choice(ids)
                if op == "cancel":
                    http.post(f"/api/v1/fine-tunes/{job_id}/cancel")
                else:
                    http.delete(f"/api/v1/fine-tunes/{job_id}")
            elif op == "wait":
                clock.advance(rng.choice((60.0, HOUR, 6 * HOUR)))
            elif op == "export" and ids:
                job_id = rng.choice(ids)
                r = http.get(f"/api/v1/fine-tunes/{job_id}/checkpoints")
                points = (r.json().get("output") or []) if r.status_code == 200 else []
                if points:
                    checkpoint = rng.choice(points)["checkpoint"]
                    display = f"exp-{len(names)}"
                    r = http.get(
                        f"/api/v1/fine-tunes/{job_id}/export/{checkpoint}", params={"model_name": display}
                    )
                    if r.status_code == 200:
                        names.append(f"wan2.5-i2v-preview-{job_id}-c{checkpoint.rpartition('-')[2]}")
            elif op == "deploy":
                # the newest job's output half the time: the one the index has had to be extended by
                name = names[-1] if rng.random() < 0.5 else rng.choice(names)
                with Sandbox(_copy(db, copy), clock=clock, seed=1) as fresh:
                    expected = _deploy(_client(fresh), name)
                assert _deploy(http, name) == expected, (name, expected)
                kinds.add(f"deploy {expected[0]}")
            elif op == "drop summary":
                with sqlite3.connect(db) as conn:
                    conn.execute("DELETE FROM dashscope_fine_tune_summary")
            else:
                continue
            kinds.add(op)
            with Sandbox(_copy(db, copy), clock=clock, seed=1) as fresh:
                assert _answers(ha, ids) == _answers(_client(fresh), ids), op
    finally:
        cached.close()
        other.close()
    assert {"create", "wait", "deploy"} <= kinds  # the walk really went through the cached paths


def test_a_database_made_before_the_summary_is_counted_once_when_opened(tmp_path: Path) -> None:
    db, clock = tmp_path / "sandbox.db", FakeClock()
    with Sandbox(db, clock=clock, seed=1) as sb:
        http = _client(sb)
        file_id = http.post(
            "/compatible-mode/v1/files", files={"file": ("ds.zip", _zip())}, data={"purpose": "fine-tune"}
        ).json()["id"]
        body = {
            "model": "wan2.5-i2v-preview",
            "training_file_ids": [file_id],
            "training_type": "efficient_sft",
        }
        ids = [http.post("/api/v1/fine-tunes", json=body).json()["output"]["job_id"] for _ in range(3)]
        assert http.post(f"/api/v1/fine-tunes/{ids[1]}/cancel").status_code == 200
        before = _answers(http, ids)
    with sqlite3.connect(db) as conn:  # what an older sandbox.db holds: no summary, no triggers
        for name in ("inserted", "updated", "deleted"):
            conn.execute(f"DROP TRIGGER dashscope_fine_tunes_{name}")
        conn.execute("DROP TABLE dashscope_fine_tune_summary")
    with Sandbox(db, clock=clock, seed=1) as sb:
        summary = sb.store.one("SELECT n, s, changes FROM dashscope_fine_tune_summary")
        assert summary == {"n": 3, "s": 3, "changes": 0}
        http = _client(sb)
        assert _answers(http, ids) == before
        http.post("/api/v1/fine-tunes", json=body)
        assert sb.store.one("SELECT n, s FROM dashscope_fine_tune_summary") == {"n": 4, "s": 4}
