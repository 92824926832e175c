"""List pages are read straight from their bytes (`parse_bytes`): the same models as from the decoded
JSON, and every answer that is not a well-formed success still ends as the error it always was.

A refresh reads every object of the account through the list endpoints, so the client validates a
page's bytes into its models in one pass. These tests hold that to the ordinary path: the same
values (also where the models coerce or keep unknown fields), and for a malformed body, a
business error on a 200 or an HTTP error, the same `ProviderError`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from dashscope_fakes import ScriptedServer, ok

from reconciler.providers.dashscope import DashScopeClient
from reconciler.providers.dashscope.types import DeploymentPage, FileList, FineTunePage
from reconciler.providers.errors import AuthError, InvalidRequestError, PermanentError, ServerError
from reconciler.providers.http import RetryPolicy

NO_RETRIES = RetryPolicy(max_attempts=1)

JOB = {
    "job_id": "ft-1",
    "job_name": "数据集 café",
    "status": "SUCCEEDED",
    "model": "wan2.5-i2v-preview",
    "training_file_ids": ["file-1"],
    "hyper_parameters": {"n_epochs": "400", "learning_rate": 2e-05, "nested": {"a": None}},
    "usage": 12.0,  # coerced to 12
    "max_output_cnt": "20",  # coerced to 20
    "code": "1",  # a job's own failure code: not a request failure
    "message": None,
    "brand_new_field": {"kept": [1, 2.5, "x", None]},
}
DEPLOYMENT = {"deployed_model": "m-1", "status": "RUNNING", "capacity": 2, "extra": "kept"}
FILE = {"id": "file-1", "filename": "ds.zip", "bytes": 10, "created_at": 1767225600, "status_details": None}


def _raw(body: Any) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body, ensure_ascii=False).encode("utf-8"))


def test_a_jobs_page_is_what_validating_the_decoded_output_gives(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    body = {"request_id": "r-1", "output": {"page_no": 1, "page_size": 2, "total": 2, "jobs": [JOB, JOB]}}
    server.script(_raw(body))
    page = client.list_fine_tunes(page_size=2)
    expected = FineTunePage.model_validate(body["output"])
    assert type(page) is FineTunePage
    assert page == expected
    assert [j.model_dump(mode="json") for j in page.jobs] == [
        j.model_dump(mode="json") for j in expected.jobs
    ]
    assert page.jobs[0].usage == 12 and page.jobs[0].max_output_cnt == 20
    assert page.jobs[0].model_extra == {"brand_new_field": {"kept": [1, 2.5, "x", None]}}


def test_deployment_and_file_pages_too(server: ScriptedServer, client: DashScopeClient) -> None:
    deps = {"request_id": "r", "output": {"total": 1, "deployments": [DEPLOYMENT]}, "unknown_top": 1}
    files = {"object": "list", "has_more": False, "data": [FILE], "unknown_top": 1}
    server.script(_raw(deps), _raw(files))
    assert client.list_deployments() == DeploymentPage.model_validate(deps["output"])
    got = client.list_files()
    assert got == FileList.model_validate(files)
    assert got.model_extra == {"unknown_top": 1}


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b'{"request_id": "r", "output": {"jobs": [{"status": "RUNNING"}]}}',  # a job without its id
        b'{"request_id": "r", "output": null}',
        b'{"request_id": "r"}',
        b'{"request_id": "r", "output": {"jobs": [',  # truncated
        b"[]",
    ],
)
def test_a_malformed_page_is_a_server_error(
    server: ScriptedServer, client: DashScopeClient, body: bytes
) -> None:
    client._retry = NO_RETRIES
    server.script(httpx.Response(200, content=body))
    with pytest.raises(ServerError, match="unexpected response body"):
        client.list_fine_tunes()


def test_a_malformed_file_list_is_a_server_error(server: ScriptedServer, client: DashScopeClient) -> None:
    client._retry = NO_RETRIES
    server.script(httpx.Response(200, content=b'{"object": "list", "data": [{"filename": "no id"}]}'))
    with pytest.raises(ServerError, match="unexpected response body"):
        client.list_files()


def test_a_business_error_on_a_200_is_still_an_error(server: ScriptedServer, client: DashScopeClient) -> None:
    client._retry = NO_RETRIES
    # a well-formed page *and* a top-level code: the code wins, as it always has
    server.script(
        ok({"request_id": "r", "code": "InvalidApiKey", "message": "bad key", "output": {"jobs": []}}),
        ok({"request_id": "r", "code": "InvalidParameter", "message": "page_size", "output": {}}),
        ok({"object": "list", "data": [], "error": {"code": "x", "message": "no files for you"}}),
    )
    with pytest.raises(AuthError, match="bad key"):
        client.list_fine_tunes()
    with pytest.raises(InvalidRequestError, match="page_size"):
        client.list_deployments()
    with pytest.raises(PermanentError, match="no files for you"):
        client.list_files()


def test_an_empty_code_on_a_200_is_no_error(server: ScriptedServer, client: DashScopeClient) -> None:
    server.script(ok({"request_id": "r", "code": "", "output": {"total": 0, "jobs": []}}))
    assert client.list_fine_tunes().jobs == []


def test_an_http_error_with_a_page_shaped_body_is_an_error(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    client._retry = NO_RETRIES
    server.script(
        httpx.Response(
            400, json={"request_id": "r", "code": "InvalidParameter", "message": "no", "output": {}}
        )
    )
    with pytest.raises(InvalidRequestError):
        client.list_fine_tunes()


# --- the single objects apply creates and reads (also read from their bytes) -----------------------


def test_single_objects_are_what_validating_the_decoded_body_gives(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    from reconciler.providers.dashscope.types import Deployment, FileObject, FineTuneJob

    job = {"request_id": "r", "output": JOB, "unknown_top": 1}
    dep = {"request_id": "r", "output": DEPLOYMENT}
    server.script(_raw(job), _raw(dep), _raw(FILE | {"unknown": [1]}))
    got_job = client.get_fine_tune("ft-1")
    assert type(got_job) is FineTuneJob and got_job == FineTuneJob.model_validate(JOB)
    assert got_job.model_dump(mode="json") == FineTuneJob.model_validate(JOB).model_dump(mode="json")
    assert got_job.usage == 12 and got_job.model_extra == {"brand_new_field": {"kept": [1, 2.5, "x", None]}}
    assert client.get_deployment("m-1") == Deployment.model_validate(DEPLOYMENT)
    got_file = client.get_file("file-1")
    assert got_file == FileObject.model_validate(FILE | {"unknown": [1]})
    assert got_file.model_extra == {"unknown": [1]}


def test_a_business_error_on_a_single_object_200_is_still_an_error(
    server: ScriptedServer, client: DashScopeClient
) -> None:
    client._retry = NO_RETRIES
    server.script(
        ok({"request_id": "r", "code": "InvalidApiKey", "message": "bad key", "output": JOB}),
        ok({"request_id": "r", "code": "InvalidParameter", "message": "capacity", "output": DEPLOYMENT}),
        ok(FILE | {"error": {"code": "x", "message": "no file for you"}}),
        httpx.Response(200, content=b'{"request_id": "r", "output": {"status": "RUNNING"}}'),
    )
    with pytest.raises(AuthError, match="bad key"):
        client.get_fine_tune("ft-1")
    with pytest.raises(InvalidRequestError, match="capacity"):
        client.get_deployment("m-1")
    with pytest.raises(PermanentError, match="no file for you"):
        client.get_file("file-1")
    with pytest.raises(ServerError, match="unexpected response body"):
        client.get_fine_tune("ft-1")  # a job without its id
