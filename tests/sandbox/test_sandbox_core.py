"""Cross-cutting sandbox behaviour: auth, request ids, request counts, persistence, introspection."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sandbox_testkit import AUTH, Kit

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}])
def test_requests_without_a_bearer_key_get_401_invalid_api_key(
    sandbox: Sandbox, headers: dict[str, str]
) -> None:
    c = httpx.Client(transport=sandbox.transport(), base_url="http://sandbox", headers=headers)
    for method, path in (
        ("GET", "/api/v1/fine-tunes"),
        ("POST", "/api/v1/deployments"),
        ("GET", "/compatible-mode/v1/files"),
    ):
        r = c.request(method, path)
        assert r.status_code == 401
        body = r.json()
        assert (
            body["code"] == "InvalidApiKey"
            and body["message"]
            and body["request_id"] == r.headers["x-request-id"]
        )


def test_any_non_empty_key_is_the_same_account(sandbox: Sandbox) -> None:
    a = httpx.Client(
        transport=sandbox.transport(), base_url="http://s", headers={"Authorization": "Bearer one"}
    )
    b = httpx.Client(
        transport=sandbox.transport(), base_url="http://s", headers={"Authorization": "Bearer two"}
    )
    file_id = a.post(
        "/compatible-mode/v1/files", files={"file": ("a.zip", b"x")}, data={"purpose": "fine-tune"}
    ).json()["id"]
    assert b.get(f"/compatible-mode/v1/files/{file_id}").status_code == 200


def test_unknown_paths_are_404_in_the_provider_envelope(kit: Kit) -> None:
    r = kit.http.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["code"] == "NotFound" and "request_id" in r.json()
    assert kit.http.get("/elsewhere").status_code == 404


def test_request_counts_per_route_template_include_errors_and_reset(kit: Kit) -> None:
    job = kit.create_job()
    kit.http.get(f"/api/v1/fine-tunes/{job['job_id']}")
    kit.http.get("/api/v1/fine-tunes/ft-missing")
    httpx.Client(transport=kit.sb.transport(), base_url="http://s").get(
        "/api/v1/fine-tunes"
    )  # 401 still counts
    assert kit.sb.request_counts() == {
        "POST /compatible-mode/v1/files": 1,
        "POST /api/v1/fine-tunes": 1,
        "GET /api/v1/fine-tunes/{job_id}": 2,
        "GET /api/v1/fine-tunes": 1,
    }
    kit.sb.reset_counts()
    assert kit.sb.request_counts() == {}


def test_state_persists_across_sandbox_instances_on_one_file(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "sb.db"
    with Sandbox(db_path=db, clock=clock, seed=1) as first:
        kit = Kit(first, clock)
        job = kit.create_job()
        clock.advance(0.5)
        assert kit.status(job["job_id"]) == "RUNNING"
    clock.advance(10)
    with Sandbox(db_path=db, clock=clock, seed=1) as second:
        kit2 = Kit(second, clock)
        assert kit2.status(job["job_id"]) == "SUCCEEDED"  # computed from persisted timestamps
        second_job = kit2.create_job()
        assert second_job["job_id"] != job["job_id"]
        assert second.request_counts()["GET /api/v1/fine-tunes/{job_id}"] == 2
        assert (tmp_path / "sb.db.blobs").is_dir() and len(list((tmp_path / "sb.db.blobs").iterdir())) == 2


def test_two_open_sandboxes_on_one_file_see_each_others_writes(tmp_path: Path, clock: FakeClock) -> None:
    db = tmp_path / "shared.db"
    with Sandbox(db_path=db, clock=clock) as a, Sandbox(db_path=db, clock=clock) as b:
        job = Kit(a, clock).create_job()
        assert Kit(b, clock).status(job["job_id"]) == "PENDING"


def test_list_objects_kinds(kit: Kit) -> None:
    kit.succeeded_job()
    assert {len(kit.sb.list_objects(k)) for k in ("files", "fine_tunes")} == {1}
    assert len(kit.sb.list_objects("checkpoints")) == 5
    assert kit.sb.list_objects("deployments") == []
    with pytest.raises(ValueError, match="unknown sandbox object kind"):
        kit.sb.list_objects("buckets")


def test_in_process_upload_streams_without_buffering_the_body(kit: Kit) -> None:
    """The transport hands the app the client's stream: bytes reach the blob file while still being produced."""
    on_disk_while_producing: list[int] = []

    def part_file_size() -> int:
        return sum(p.stat().st_size for p in kit.sb.store.blob_dir.glob("*.part"))

    def body():  # type: ignore[no-untyped-def]
        boundary = b"b0undary"
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
        yield (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\n\r\n'
        )
        for _ in range(64):
            on_disk_while_producing.append(part_file_size())
            yield b"z" * 65536
        yield b"\r\n--" + boundary + b"--\r\n"

    r = kit.http.post(
        "/compatible-mode/v1/files",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=b0undary", **AUTH},
    )
    assert r.status_code == 200 and r.json()["bytes"] == 64 * 65536
    # When the 64th chunk is about to be produced, ~62 chunks are already written out.
    assert on_disk_while_producing[-1] >= 60 * 65536
    assert on_disk_while_producing == sorted(on_disk_while_producing)


def test_concurrent_requests_over_http_are_serialised_safely(tmp_path: Path, clock: FakeClock) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from reconciler.sandbox import serve

    with Sandbox(db_path=tmp_path / "c.db", clock=clock) as sb:
        file_id = Kit(sb, clock).upload()
        server = serve(sb)
        try:
            body = {
                "model": "wan2.5-i2v-preview",
                "training_file_ids": [file_id],
                "training_type": "efficient_sft",
                "hyper_parameters": {"n_epochs": 10, "eval_epochs": 2},
            }

            def create(_: int) -> httpx.Response:
                return httpx.post(f"{server.url}/api/v1/fine-tunes", json=body, headers=AUTH, timeout=10)

            with ThreadPoolExecutor(8) as pool:
                responses = list(pool.map(create, range(24)))
        finally:
            server.shutdown()
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 20 + [429] * 4  # the quota holds under concurrency
        ids = [r.json()["output"]["job_id"] for r in responses if r.status_code == 200]
        assert len(set(ids)) == 20
        assert sb.request_counts()["POST /api/v1/fine-tunes"] == 24


def test_a_file_store_checkpoints_its_wal_every_10000_pages(tmp_path: Path) -> None:
    """SQLite's 1,000-page default copied the WAL back (two fsyncs) every ~300 requests, under the
    lock every request waits for; committed data and what a kill -9 leaves are the same either way."""
    from reconciler.sandbox.store import Store

    store = Store(tmp_path / "sandbox.db")
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000
    finally:
        store.close()
