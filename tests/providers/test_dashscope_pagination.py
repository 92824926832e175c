"""List helpers make exactly the requests the data needs, at the largest documented page size."""

from __future__ import annotations

import pytest
import seed_examples as seed
from dashscope_fakes import ScriptedServer, ok

from reconciler.providers.dashscope import DashScopeClient


def job(i: int) -> dict:
    return {**seed.GET_FINE_TUNE["output"], "job_id": f"ft-{i:04d}"}


def dep(i: int) -> dict:
    return {**seed.GET_DEPLOYMENT["output"], "deployed_model": f"d-{i}"}


def paged(items: list[dict], key: str, total_field: bool = True):
    def handler(request):
        page_no = int(request.url.params["page_no"])
        size = int(request.url.params["page_size"])
        chunk = items[(page_no - 1) * size : page_no * size]
        output = {"page_no": page_no, "page_size": size, key: chunk}
        if total_field:
            output["total"] = len(items)
        return ok({"request_id": "r", "output": output})

    return handler


@pytest.mark.parametrize(("n", "requests"), [(0, 1), (1, 1), (100, 1), (101, 2), (250, 3)])
def test_iter_fine_tunes_request_count(
    server: ScriptedServer, client: DashScopeClient, n: int, requests: int
) -> None:
    items = [job(i) for i in range(n)]
    server.script(paged(items, "jobs"))
    got = [j.job_id for j in client.iter_fine_tunes()]
    assert got == [j["job_id"] for j in items]
    assert server.count == requests
    assert all(r.query["page_size"] == ["100"] for r in server.requests)


def test_iter_fine_tunes_passes_model_filter(server: ScriptedServer, client: DashScopeClient) -> None:
    server.script(paged([job(1)], "jobs"))
    list(client.iter_fine_tunes(model="wan2.2-i2v-flash"))
    assert server.last.query["model"] == ["wan2.2-i2v-flash"]


@pytest.mark.parametrize(("n", "requests"), [(0, 1), (200, 1), (201, 2), (450, 3)])
def test_iter_deployments_request_count(
    server: ScriptedServer, client: DashScopeClient, n: int, requests: int
) -> None:
    items = [dep(i) for i in range(n)]
    server.script(paged(items, "deployments"))
    assert len(list(client.iter_deployments())) == n
    assert server.count == requests
    assert all(r.query["page_size"] == ["200"] for r in server.requests)


def test_server_capping_page_size_does_not_end_the_walk_early(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    items = [job(i) for i in range(25)]

    def capped(request):
        page_no = int(request.url.params["page_no"])
        chunk = items[(page_no - 1) * 10 : page_no * 10]  # the server pages by 10 whatever we ask
        return ok(
            {"request_id": "r", "output": {"page_no": page_no, "page_size": 10, "total": 25, "jobs": chunk}}
        )

    server.script(capped)
    assert len(list(client.iter_fine_tunes())) == 25
    assert server.count == 3


def test_without_total_a_short_page_ends_the_walk(server: ScriptedServer, client: DashScopeClient) -> None:
    server.script(paged([job(i) for i in range(150)], "jobs", total_field=False))
    assert len(list(client.iter_fine_tunes())) == 150
    assert server.count == 2


def files(start: int, n: int) -> list[dict]:
    return [{**seed.UPLOAD_FILE, "id": f"file-{i:05d}"} for i in range(start, start + n)]


def cursor_handler(all_files: list[dict]):
    def handler(request):
        limit = int(request.url.params.get("limit", 2000))
        after = request.url.params.get("after")
        start = 0 if after is None else [f["id"] for f in all_files].index(after) + 1
        chunk = all_files[start : start + limit]
        return ok({"object": "list", "has_more": start + limit < len(all_files), "data": chunk})

    return handler


@pytest.mark.parametrize(("n", "requests"), [(0, 1), (2000, 1), (2001, 2), (4500, 3)])
def test_iter_files_follows_the_cursor(
    server: ScriptedServer, client: DashScopeClient, n: int, requests: int
) -> None:
    everything = files(0, n)
    server.script(cursor_handler(everything))
    got = [f.id for f in client.iter_files(purpose="fine-tune")]
    assert got == [f["id"] for f in everything]
    assert server.count == requests
    assert server.requests[0].query == {"limit": ["2000"], "purpose": ["fine-tune"]}
    if requests > 1:
        assert server.requests[1].query["after"] == ["file-01999"]


def test_iter_files_stops_if_the_server_repeats_itself(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    server.script(ok({"object": "list", "has_more": True, "data": []}))
    assert list(client.iter_files()) == []
    assert server.count == 1


def test_an_empty_page_ends_the_walk_even_if_total_says_more(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    server.script(ok({"request_id": "r", "output": {"page_no": 1, "page_size": 100, "total": 7, "jobs": []}}))
    assert list(client.iter_fine_tunes()) == []
    assert server.count == 1
