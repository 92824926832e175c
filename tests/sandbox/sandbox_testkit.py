"""Helpers shared by the sandbox tests: datasets, a client bound to an in-process sandbox, polling."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import httpx

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox

AUTH = {"Authorization": "Bearer sk-test"}
MODEL = "wan2.5-i2v-preview"


def dataset_zip(samples: int = 10, *, with_jsonl: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if with_jsonl:
            lines = [
                json.dumps(
                    {
                        "prompt": f"prompt {i} s86b5p",
                        "first_frame_path": f"image_{i}.jpg",
                        "video_path": f"video_{i}.mp4",
                    }
                )
                for i in range(1, samples + 1)
            ]
            zf.writestr("data.jsonl", "\n".join(lines) + "\n")
        for i in range(1, samples + 1):
            zf.writestr(f"image_{i}.jpg", b"\xff\xd8fake")
    return buf.getvalue()


class Kit:
    """A FakeClock-driven sandbox and an httpx client speaking to it in process."""

    def __init__(self, sandbox: Sandbox, clock: FakeClock) -> None:
        self.sb = sandbox
        self.clock = clock
        self.http = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox", headers=AUTH)

    def upload(self, samples: int = 10, name: str = "ds.zip", content: bytes | None = None) -> str:
        r = self.http.post(
            "/compatible-mode/v1/files",
            files={"file": (name, content if content is not None else dataset_zip(samples))},
            data={"purpose": "fine-tune"},
        )
        assert r.status_code == 200, r.text
        file_id = r.json()["id"]
        if self.sb.fidelity == "documented":
            self.wait_processed(file_id)
        return file_id

    def wait_processed(self, file_id: str, step: float = 0.05, limit: float = 600) -> None:
        """Documented fidelity: a file is `uploaded`, then `processing`, before jobs may use it."""
        waited = 0.0
        while self.http.get(f"/compatible-mode/v1/files/{file_id}").json()["status"] != "processed":
            assert waited <= limit, f"{file_id} never processed"
            self.clock.advance(step)
            waited += step

    def create_job(self, file_id: str | None = None, model: str = MODEL, **hp: Any) -> dict[str, Any]:
        r = self.create_job_response(file_id, model, **hp)
        assert r.status_code == 200, r.text
        return r.json()["output"]

    def create_job_response(
        self, file_id: str | None = None, model: str = MODEL, **hp: Any
    ) -> httpx.Response:
        file_id = file_id or self.upload()
        hyper = {"n_epochs": 10, "eval_epochs": 2, **hp}
        return self.http.post(
            "/api/v1/fine-tunes",
            json={
                "model": model,
                "training_file_ids": [file_id],
                "training_type": "efficient_sft",
                "hyper_parameters": hyper,
            },
        )

    def job(self, job_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/fine-tunes/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()["output"]

    def status(self, job_id: str) -> str:
        return self.job(job_id)["status"]

    def run_until(self, job_id: str, wanted: str, step: float = 0.5, limit: float = 3600) -> dict[str, Any]:
        waited = 0.0
        while waited <= limit:
            job = self.job(job_id)
            if job["status"] == wanted:
                return job
            self.clock.advance(step)
            waited += step
        raise AssertionError(f"{job_id} never reached {wanted}")

    def succeeded_job(self, **hp: Any) -> dict[str, Any]:
        job = self.create_job(**hp)
        return self.run_until(job["job_id"], "SUCCEEDED")

    def exported_model(self, job: dict[str, Any], checkpoint: str, display: str) -> str:
        r = self.http.get(
            f"/api/v1/fine-tunes/{job['job_id']}/export/{checkpoint}", params={"model_name": display}
        )
        assert r.status_code == 200 and r.json()["output"] is True, r.text
        for _ in range(100):
            views = self.http.get(f"/api/v1/fine-tunes/{job['job_id']}/checkpoints").json()["output"]
            view = next(v for v in views if v["checkpoint"] == checkpoint)
            if view["status"] == "SUCCEEDED":
                return view["model_name"]
            self.clock.advance(0.2)
        raise AssertionError("export never finished")
