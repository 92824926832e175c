"""The sandbox over real HTTP, driven by clients nobody here wrote: the openai and dashscope SDKs.

One server on a free 127.0.0.1 port per test module; a FakeClock shared with the server makes
training, exports and deployments finish as fast as the test advances time. The SDK tests run in
both fidelity modes. Socket-level faults and the `reconciler sandbox serve` subprocess are checked
at the end.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dashscope
import httpx
import openai
import pytest
from dashscope.client.base_api import GetMixin
from dashscope.finetune.deployments import Deployments
from dashscope.finetune.finetunes import FineTunes
from sandbox_testkit import AUTH, dataset_zip

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.sandbox import RunningServer, Sandbox, serve

KEY = "sk-sandbox-test"


@pytest.fixture(params=["permissive", "documented"])
def served(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[tuple[Sandbox, RunningServer]]:
    sb = Sandbox(clock=clock, seed=11, fidelity=request.param)
    server = serve(sb, port=0)
    yield sb, server
    server.shutdown()
    sb.close()


def _until_processed(client: openai.OpenAI, file_id: str, clock: FakeClock) -> str:
    """Documented fidelity: `uploaded` → `processing` → `processed`; returns the statuses seen."""
    seen = []
    for _ in range(2000):
        status = client.files.retrieve(file_id).status
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "processed":
            return " → ".join(seen)
        clock.advance(0.01)
    raise AssertionError(f"{file_id} never processed: {seen}")


def test_openai_sdk_files_client(served: tuple[Sandbox, RunningServer], clock: FakeClock) -> None:
    sb, server = served
    client = openai.OpenAI(api_key=KEY, base_url=f"{server.url}/compatible-mode/v1", max_retries=0)
    content = dataset_zip(10)
    created = client.files.create(
        file=("wan-i2v-training-dataset.zip", io.BytesIO(content)), purpose="fine-tune"
    )
    assert created.id.startswith("file-ft-") and created.bytes == len(content)
    if sb.fidelity == "documented":
        assert created.status == "uploaded"
        assert _until_processed(client, created.id, clock) == "uploaded → processing → processed"
    else:
        assert created.status == "processed"
    assert created.filename == "wan-i2v-training-dataset.zip" and created.purpose == "fine-tune"
    got = client.files.retrieve(created.id)
    assert got.id == created.id and got.created_at == created.created_at
    second = client.files.create(file=("b.zip", io.BytesIO(b"x")), purpose="fine-tune")
    page = client.files.list(limit=1)
    assert [f.id for f in page.data] == [second.id] and page.has_more
    assert [f.id for f in client.files.list(limit=1)] == [
        second.id,
        created.id,
    ]  # auto-pagination via `after`
    assert client.files.content(created.id).read() == content
    deleted = client.files.delete(created.id)
    assert deleted.deleted is True and deleted.id == created.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            api_key="x",
            base_url=f"{server.url}/compatible-mode/v1",
            max_retries=0,
            default_headers={"Authorization": "Basic eDp5"},
        ).files.list()
    assert sb.request_counts()["POST /compatible-mode/v1/files"] == 2


class _ExtraCalls(GetMixin):
    """Checkpoint endpoints the SDK has no wrappers for, through its own generic GET helper."""

    SUB_PATH = "fine-tunes"


def test_dashscope_sdk_create_poll_export_deploy_delete(
    served: tuple[Sandbox, RunningServer], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, server = served
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{server.url}/api/v1")
    files = openai.OpenAI(api_key=KEY, base_url=f"{server.url}/compatible-mode/v1")
    file_id = files.files.create(file=("ds.zip", io.BytesIO(dataset_zip(10))), purpose="fine-tune").id
    _until_processed(files, file_id, clock)

    created = FineTunes.call(
        model="wan2.5-i2v-preview",
        training_file_ids=[file_id],
        mode="efficient_sft",
        hyper_parameters={"n_epochs": 10, "batch_size": 2, "learning_rate": 2e-5, "eval_epochs": 2},
        api_key=KEY,
    )
    assert created.status_code == 200, created
    job_id = created.output["job_id"]
    assert created.output["status"] == "PENDING"
    queued = FineTunes.call(
        model="wan2.5-i2v-preview",
        training_file_ids=file_id,
        mode="efficient_sft",
        hyper_parameters={"n_epochs": 10, "eval_epochs": 2},
        api_key=KEY,
    )
    statuses = []
    while True:
        got = FineTunes.get(job_id, api_key=KEY)
        assert got.status_code == 200
        statuses.append(got.output["status"])
        if got.output["status"] in ("SUCCEEDED", "FAILED", "CANCELED"):
            break
        clock.advance(0.25)
    assert statuses[0] == "PENDING" and "RUNNING" in statuses and statuses[-1] == "SUCCEEDED"
    assert FineTunes.get(queued.output["job_id"], api_key=KEY).output["status"] == "RUNNING"

    listed = FineTunes.list(page_no=1, page_size=10, api_key=KEY)
    assert listed.output["total"] == 2 and {j["job_id"] for j in listed.output["jobs"]} == {
        job_id,
        queued.output["job_id"],
    }
    logs = FineTunes.logs(job_id, offset=0, line=1000, api_key=KEY)
    assert logs.output["logs"][-1].endswith("##FT_COMPLETE##")
    canceled = FineTunes.cancel(queued.output["job_id"], api_key=KEY)
    assert canceled.status_code == 200 and canceled.output.status == "success"

    results = _ExtraCalls.get(job_id, path=f"fine-tunes/{job_id}/validation-results", api_key=KEY)
    assert {"checkpoint": "checkpoint-20"} in results.output
    exported = _ExtraCalls.get(
        job_id,
        path=f"fine-tunes/{job_id}/export/checkpoint-20",
        params={"model_name": "sdk-export-c20"},
        api_key=KEY,
    )
    assert exported.status_code == 200 and exported.output is True
    clock.advance(5)
    checkpoints = _ExtraCalls.get(job_id, path=f"fine-tunes/{job_id}/checkpoints", api_key=KEY).output
    c20 = next(c for c in checkpoints if c["checkpoint"] == "checkpoint-20")
    assert c20["status"] == "SUCCEEDED" and c20["model_display_name"] == "sdk-export-c20"

    deployment = Deployments.call(model=c20["model_name"], capacity=1, plan="lora", api_key=KEY)
    assert deployment.status_code == 200 and deployment.output["status"] == "PENDING"
    name = deployment.output["deployed_model"]
    duplicate = Deployments.call(model=c20["model_name"], capacity=1, plan="lora", api_key=KEY)
    assert duplicate.status_code == 409 and duplicate.code == "Conflict"
    clock.advance(2)
    assert Deployments.get(name, api_key=KEY).output["status"] == "RUNNING"
    assert Deployments.list(api_key=KEY).output["total"] == 1
    scaled = Deployments.scale(name, capacity=2, api_key=KEY)
    if sb.fidelity == "documented":  # capacity applies to plan mu only [doc]
        assert scaled.status_code == 400 and scaled.code == "UnsupportedOperation"
    else:
        assert scaled.status_code == 200 and scaled.output["status"] == "UPDATING"
    clock.advance(1)

    removed = Deployments.delete(name, api_key=KEY)
    assert removed.status_code == 200 and removed.output["status"] == "DELETING"
    clock.advance(1)
    gone = Deployments.get(name, api_key=KEY)
    assert gone.status_code == 404 and gone.code == "NotFound"
    clock.advance(1)
    for jid in (job_id, queued.output["job_id"]):
        assert FineTunes.delete(jid, api_key=KEY).status_code == 200
    assert FineTunes.get(job_id, api_key=KEY).status_code == 404
    unauthorized = FineTunes.list(api_key="")
    assert unauthorized.status_code == 401 and unauthorized.code == "InvalidApiKey"


# --- faults at the socket -------------------------------------------------------------------
@pytest.fixture
def faulty(clock: FakeClock) -> Iterator[tuple[Sandbox, RunningServer]]:
    faults = FaultConfig(
        seed=1,
        rules=[
            FaultRule(match="GET /api/v1/fine-tunes", rate_reset=1.0),
            FaultRule(match="GET /api/v1/deployments", rate_timeout=1.0),
            FaultRule(match="POST /api/v1/fine-tunes", rate_lost_response=1.0),
            FaultRule(match="GET /compatible-mode/v1/files", rate_429=1.0, retry_after_s=4),
        ],
    )
    sb = Sandbox(clock=clock, faults=faults)
    server = serve(sb, port=0)
    yield sb, server
    server.shutdown()
    sb.close()


def test_faults_over_http_drop_reset_and_hold_the_socket(faulty: tuple[Sandbox, RunningServer]) -> None:
    sb, server = faulty
    c = httpx.Client(base_url=server.url, headers=AUTH, timeout=httpx.Timeout(5.0, read=0.5))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        c.get("/api/v1/fine-tunes")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        c.get("/api/v1/deployments")
    assert time.monotonic() - started < 3
    file_id = c.post(
        "/compatible-mode/v1/files", files={"file": ("a.zip", dataset_zip(10))}, data={"purpose": "fine-tune"}
    ).json()["id"]
    with pytest.raises(httpx.RemoteProtocolError):
        c.post(
            "/api/v1/fine-tunes",
            json={
                "model": "wan2.5-i2v-preview",
                "training_file_ids": [file_id],
                "training_type": "efficient_sft",
                "hyper_parameters": {"n_epochs": 10, "eval_epochs": 2},
            },
        )
    assert len(sb.list_objects("fine_tunes")) == 1  # committed though the answer was lost
    r = c.get("/compatible-mode/v1/files")
    assert r.status_code == 429 and r.headers["retry-after"] == "4" and r.json()["code"] == "Throttling"


# --- the CLI ---------------------------------------------------------------------------------
CLI = [sys.executable, "-c", "from reconciler.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_reconciler_sandbox_serve_subprocess_answers(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "sandbox.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RECONCILER_SANDBOX_FAULTS", None)
    proc = subprocess.Popen(
        [*CLI, "sandbox", "serve", "--port", str(port), "--db", str(db), "--time-scale", "5000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/fine-tunes", headers=AUTH, timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"server did not start: {proc.stdout.read().decode() if proc.stdout else ''}"
                    ) from None
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["output"]["total"] == 0
        stats = subprocess.run(
            [*CLI, "sandbox", "stats", "--db", str(db), "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert stats.returncode == 0, stats.stderr
        assert '"GET /api/v1/fine-tunes": 1' in stats.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_chunked_uploads_over_http(served: tuple[Sandbox, RunningServer]) -> None:
    sb, server = served
    content = dataset_zip(7)

    def unknown_length():  # type: ignore[no-untyped-def]  # no len(): httpx must send it chunked
        yield from (content[i : i + 1000] for i in range(0, len(content), 1000))

    boundary = "xYzZy"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.zip"\r\n\r\n'
    ).encode()

    def body():  # type: ignore[no-untyped-def]
        yield head
        yield from unknown_length()
        yield f"\r\n--{boundary}--\r\n".encode()

    r = httpx.post(
        f"{server.url}/compatible-mode/v1/files",
        content=body(),
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 200 and r.json()["bytes"] == len(content)
