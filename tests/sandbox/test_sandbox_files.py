"""The DashScope files emulation: OpenAI-compatible and native APIs, streaming, limits."""

from __future__ import annotations

import random

import pytest
from sandbox_testkit import Kit, dataset_zip

from reconciler.sandbox.dashscope import files as files_module


def test_upload_get_list_content_delete(kit: Kit) -> None:
    content = dataset_zip(12)
    file_id = kit.upload(content=content, name="wan-i2v.zip")
    assert file_id.startswith("file-ft-")
    got = kit.http.get(f"/compatible-mode/v1/files/{file_id}").json()
    assert got == {
        "id": file_id,
        "object": "file",
        "bytes": len(content),
        "filename": "wan-i2v.zip",
        "purpose": "fine-tune",
        "status": "processed",
        "created_at": 1767225600,
        "status_details": None,
    }
    assert kit.http.get(f"/compatible-mode/v1/files/{file_id}/content").content == content
    listing = kit.http.get("/compatible-mode/v1/files").json()
    assert (
        listing["object"] == "list"
        and listing["has_more"] is False
        and [f["id"] for f in listing["data"]] == [file_id]
    )
    r = kit.http.delete(f"/compatible-mode/v1/files/{file_id}")
    assert r.json() == {"object": "file", "deleted": True, "id": file_id}
    r = kit.http.get(f"/compatible-mode/v1/files/{file_id}")
    assert r.status_code == 404 and r.json()["code"] == "NotFound" and r.json()["error"]["message"]
    assert kit.sb.list_objects("files")[0]["_deleted"] is True


def test_unknown_form_fields_and_missing_purpose_are_rejected(kit: Kit) -> None:
    r = kit.http.post(
        "/compatible-mode/v1/files",
        files={"file": ("a.zip", b"x")},
        data={"purpose": "fine-tune", "descriptions": "d"},
    )
    assert r.status_code == 400 and "descriptions" in r.json()["message"]
    r = kit.http.post("/compatible-mode/v1/files", files={"file": ("a.zip", b"x")})
    assert r.status_code == 400 and "purpose" in r.json()["message"]
    r = kit.http.post(
        "/compatible-mode/v1/files", files={"file": ("a.zip", b"x")}, data={"purpose": "vision"}
    )
    assert r.status_code == 400
    r = kit.http.post("/compatible-mode/v1/files", json={"purpose": "fine-tune"})
    assert r.status_code == 400 and "multipart" in r.json()["message"]
    assert kit.sb.list_objects("files") == []
    assert [p.name for p in kit.sb.store.blob_dir.iterdir()] == []  # no orphan blobs


def test_size_limits_reject_oversized_zips(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "MAX_ZIP_BYTES", 1000)
    r = kit.http.post(
        "/compatible-mode/v1/files", files={"file": ("big.zip", b"x" * 5000)}, data={"purpose": "fine-tune"}
    )
    assert r.status_code == 400 and r.json()["code"] == "InvalidParameter" and "limit" in r.json()["message"]
    assert kit.sb.list_objects("files") == [] and list(kit.sb.store.blob_dir.iterdir()) == []


def test_file_count_limit(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "MAX_LIVE_FILES", 2)
    kit.upload(), kit.upload()
    r = kit.http.post(
        "/compatible-mode/v1/files", files={"file": ("c.zip", b"x")}, data={"purpose": "fine-tune"}
    )
    assert r.status_code == 400 and "10000" not in r.json()["message"] and "limit of 2" in r.json()["message"]


@pytest.mark.parametrize("seed", range(6))
def test_account_limits_follow_the_live_files_through_uploads_and_deletes(
    kit: Kit, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """The count and byte limits track the live files however uploads and deletes interleave,
    through either API, with deletes of files already gone, and with the running totals row
    missing (a database made before it existed) at any point."""
    rng = random.Random(seed)
    monkeypatch.setattr(files_module, "MAX_LIVE_FILES", 4)
    monkeypatch.setattr(files_module, "MAX_TOTAL_BYTES", 60)
    live: dict[str, tuple[str, int]] = {}  # id -> (api, size): the model
    gone: list[tuple[str, str]] = []
    for _ in range(40):
        action = rng.random()
        if action < 0.1:
            kit.sb.store.execute("DELETE FROM dashscope_file_totals")
        if action < 0.55 or not (live or gone):
            size, api = rng.randint(1, 25), rng.choice(("compatible", "native"))
            fits = len(live) < 4 and sum(s for _, s in live.values()) + size <= 60
            if api == "compatible":
                r = kit.http.post(
                    "/compatible-mode/v1/files",
                    files={"file": ("d.zip", b"x" * size)},
                    data={"purpose": "fine-tune"},
                )
                assert (r.status_code == 200) is fits, r.text
                if fits:
                    live[r.json()["id"]] = (api, size)
                else:
                    assert "limit" in r.json()["message"]
            else:
                data = kit.http.post("/api/v1/files", files=[("files", ("d.zip", b"x" * size))]).json()[
                    "data"
                ]
                assert len(data["uploaded_files"]) == int(fits), data
                if fits:
                    live[data["uploaded_files"][0]["file_id"]] = (api, size)
                else:
                    assert "limit" in data["failed_uploads"][0]["message"]
            continue
        again = bool(gone) and (not live or rng.random() < 0.25)
        if again:
            file_id, api = rng.choice(gone)  # deleting twice: refused, and no change to the totals
        else:
            file_id = rng.choice(sorted(live))
            api = live.pop(file_id)[0]
            gone.append((file_id, api))
        if api == "compatible":
            r = kit.http.delete(f"/compatible-mode/v1/files/{file_id}")
            assert r.status_code == (404 if again else 200), r.text
        else:
            r = kit.http.delete(f"/api/v1/files/{file_id}")
            assert r.status_code == (400 if again else 200), r.text
    rows = kit.sb.list_objects("files")
    assert sorted(r["id"] for r in rows if not r["_deleted"]) == sorted(live)


def test_list_paginates_with_after_cursor_and_filters(kit: Kit) -> None:
    ids = []
    for _ in range(5):
        ids.append(kit.upload())
        kit.clock.advance(86400)
    newest_first = list(reversed(ids))
    page1 = kit.http.get("/compatible-mode/v1/files", params={"limit": 2}).json()
    assert [f["id"] for f in page1["data"]] == newest_first[:2] and page1["has_more"] is True
    page2 = kit.http.get("/compatible-mode/v1/files", params={"limit": 2, "after": newest_first[1]}).json()
    assert [f["id"] for f in page2["data"]] == newest_first[2:4]
    last = kit.http.get("/compatible-mode/v1/files", params={"limit": 2, "after": newest_first[3]}).json()
    assert [f["id"] for f in last["data"]] == newest_first[4:] and last["has_more"] is False
    # created 2026-01-01 08:00 (China time), then one per day
    for value in ("20260103", "2026-01-03", "2026-01-03 00:00:00", "20260103000000"):
        got = kit.http.get("/compatible-mode/v1/files", params={"create_after": value}).json()["data"]
        assert [f["id"] for f in got] == newest_first[:3]
    got = kit.http.get("/compatible-mode/v1/files", params={"create_before": "2026-01-02 09:00:00"}).json()[
        "data"
    ]
    assert [f["id"] for f in got] == ids[:2][::-1]
    assert kit.http.get("/compatible-mode/v1/files", params={"purpose": "batch"}).json()["data"] == []
    assert kit.http.get("/compatible-mode/v1/files", params={"limit": 0}).status_code == 400
    assert kit.http.get("/compatible-mode/v1/files", params={"limit": 2001}).status_code == 400
    assert kit.http.get("/compatible-mode/v1/files", params={"create_after": "yesterday"}).status_code == 400


def test_unreadable_zip_falls_back_to_a_default_size(kit: Kit) -> None:
    file_id = kit.upload(content=b"not a zip at all")
    job = kit.create_job(file_id, n_epochs=10, eval_epochs=1)
    done = kit.run_until(job["job_id"], "SUCCEEDED")
    assert done["usage"] == 10 * 10 * 2 * 270  # 20 samples by default → 10 steps per epoch


def test_native_files_api(kit: Kit) -> None:
    r = kit.http.post(
        "/api/v1/files",
        files=[("files", ("a.zip", dataset_zip(3))), ("files", ("b.zip", dataset_zip(4)))],
        data={"purpose": "fine-tune", "descriptions": "first"},
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert [u["name"] for u in data["uploaded_files"]] == ["a.zip", "b.zip"] and data["failed_uploads"] == []
    file_id = data["uploaded_files"][0]["file_id"]
    got = kit.http.get(f"/api/v1/files/{file_id}").json()["data"]
    assert set(got) == {
        "file_id",
        "name",
        "description",
        "size",
        "md5",
        "gmt_create",
        "url",
        "id",
        "region",
        "user_id",
        "api_key_id",
        "purpose",
    }
    assert got["description"] == "first" and got["purpose"] == "fine-tune"
    compat_id = kit.upload()
    listing = kit.http.get("/api/v1/files", params={"page_no": 1, "page_size": 2}).json()["data"]
    assert listing["total"] == 3 and listing["page_size"] == 2 and listing["files"][0]["file_id"] == compat_id
    # native ids are accepted for training
    assert kit.create_job(file_id)["training_file_ids"] == [file_id]
    assert kit.http.delete(f"/api/v1/files/{file_id}").json().keys() == {"request_id"}
    r = kit.http.get(f"/api/v1/files/{file_id}")
    assert r.status_code == 400 and r.json()["message"] == "File not found."


def test_native_partial_failure_is_reported_in_failed_uploads(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files_module, "MAX_ZIP_BYTES", 1000)
    r = kit.http.post(
        "/api/v1/files", files=[("files", ("ok.zip", b"x" * 10)), ("files", ("big.zip", b"x" * 5000))]
    )
    data = r.json()["data"]
    assert r.status_code == 200 and [u["name"] for u in data["uploaded_files"]] == ["ok.zip"]
    assert [f["name"] for f in data["failed_uploads"]] == ["big.zip"]
