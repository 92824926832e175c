"""The DashScope emulator in `documented` fidelity: the least helpful shape the documents allow.

Each test pins one row of `reconciler.sandbox.dashscope.fidelity.BEHAVIOURS` and, where the two
modes differ, shows `permissive` keeping the convenient answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sandbox_testkit import MODEL, Kit

from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox
from reconciler.sandbox.dashscope.common import java_text
from reconciler.sandbox.dashscope.fidelity import BEHAVIOURS, SOURCES

AIGC = {"use_input_prompt": False, "prompt": "p", "lora_prompt_default": "d"}


@pytest.fixture
def doc(clock: FakeClock) -> Iterator[Kit]:
    sb = Sandbox(clock=clock, seed=7, fidelity="documented", time_scale=600.0)
    yield Kit(sb, clock)
    sb.close()


def _deploy(kit: Kit, model_name: str, **extra: object):  # type: ignore[no-untyped-def]
    return kit.http.post(
        "/api/v1/deployments",
        json={"model_name": model_name, "plan": "lora", "capacity": 1, "aigc_config": AIGC, **extra},
    )


# --- files ---------------------------------------------------------------------------------------
def test_a_file_is_uploaded_then_processing_then_processed_in_get_and_list(doc: Kit) -> None:
    r = doc.http.post(
        "/compatible-mode/v1/files", files={"file": ("a.zip", b"PK")}, data={"purpose": "fine-tune"}
    )
    created = r.json()
    assert created["status"] == "uploaded"

    def seen() -> tuple[str, str]:
        got = doc.http.get(f"/compatible-mode/v1/files/{created['id']}").json()["status"]
        listed = next(
            f for f in doc.http.get("/compatible-mode/v1/files").json()["data"] if f["id"] == created["id"]
        )
        return got, listed["status"]

    statuses = []
    for _ in range(200):
        got, listed = seen()
        assert got == listed
        if not statuses or statuses[-1] != got:
            statuses.append(got)
        doc.clock.advance(0.005)
    assert statuses == ["uploaded", "processing", "processed"]
    # derived from the time scale: 10 s + 50 s emulated at 600× is 0.1 s
    assert doc.sb.time_scale == 600


def test_a_job_is_refused_while_its_file_is_still_processing(doc: Kit, kit: Kit) -> None:
    r = doc.http.post(
        "/compatible-mode/v1/files", files={"file": ("a.zip", b"PK")}, data={"purpose": "fine-tune"}
    )
    file_id = r.json()["id"]
    refused = doc.create_job_response(file_id)
    assert refused.status_code == 400 and refused.json()["code"] == "InvalidParameter"
    assert "not ready" in refused.json()["message"]
    doc.wait_processed(file_id)
    assert doc.create_job_response(file_id).status_code == 200
    # permissive: processed at once
    r = kit.http.post(
        "/compatible-mode/v1/files", files={"file": ("a.zip", b"PK")}, data={"purpose": "fine-tune"}
    )
    assert r.json()["status"] == "processed" and kit.create_job_response(r.json()["id"]).status_code == 200


# --- fine-tunes ----------------------------------------------------------------------------------
def test_hyper_parameters_are_echoed_as_strings_and_only_the_seeds_five(doc: Kit, kit: Kit) -> None:
    job = doc.create_job(n_epochs=10, eval_epochs=2, learning_rate=1.6e-5, lora_rank=64)
    echoed = {
        "n_epochs": "10",
        "batch_size": "2",
        "learning_rate": "1.6E-5",
        "split": "0.9",
        "eval_epochs": "2",
    }
    assert job["hyper_parameters"] == echoed
    assert doc.job(job["job_id"])["hyper_parameters"] == echoed
    assert doc.http.get("/api/v1/fine-tunes").json()["output"]["jobs"][0]["hyper_parameters"] == echoed
    permissive = kit.create_job(n_epochs=10, eval_epochs=2, learning_rate=1.6e-5, lora_rank=64)[
        "hyper_parameters"
    ]
    assert permissive["learning_rate"] == 1.6e-5 and permissive["lora_rank"] == 64


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (400, "400"),
        (2e-5, "2.0E-5"),
        (1.6e-5, "1.6E-5"),
        (0.9, "0.9"),
        (2.0, "2.0"),
        (1e7, "1.0E7"),
        (0.001, "0.001"),
        (9.99e-4, "9.99E-4"),
    ],
)
def test_numbers_are_written_the_way_javas_double_to_string_writes_them(value: float, text: str) -> None:
    assert java_text(value) == text


def test_finetuned_output_only_once_the_job_succeeded(doc: Kit, kit: Kit) -> None:
    job = doc.create_job()
    assert "finetuned_output" not in job
    doc.clock.advance(0.2)
    running = doc.job(job["job_id"])
    assert running["status"] in ("RUNNING", "QUEUING", "PENDING") and "finetuned_output" not in running
    listed = doc.http.get("/api/v1/fine-tunes").json()["output"]["jobs"][0]
    assert "finetuned_output" not in listed
    done = doc.run_until(job["job_id"], "SUCCEEDED")
    assert done["finetuned_output"] == f"{MODEL}-{job['job_id']}"
    assert kit.create_job()["finetuned_output"]  # permissive: from create on, as the Wan seed shows


def test_job_name_is_not_honoured_and_lists_are_oldest_first(doc: Kit, kit: Kit) -> None:
    file_id = doc.upload()
    body = {
        "model": MODEL,
        "training_file_ids": [file_id],
        "training_type": "efficient_sft",
        "job_name": "mine",
        "hyper_parameters": {"n_epochs": 10, "eval_epochs": 2},
    }
    first = doc.http.post("/api/v1/fine-tunes", json=body).json()["output"]
    assert first["job_name"] == first["job_id"]
    doc.clock.advance(61)
    second = doc.create_job(file_id)
    assert [j["job_id"] for j in doc.http.get("/api/v1/fine-tunes").json()["output"]["jobs"]] == [
        first["job_id"],
        second["job_id"],
    ]
    file_id = kit.upload()
    body["training_file_ids"] = [file_id]
    assert kit.http.post("/api/v1/fine-tunes", json=body).json()["output"]["job_name"] == "mine"
    kit.clock.advance(61)
    newer = kit.create_job(file_id)
    assert kit.http.get("/api/v1/fine-tunes").json()["output"]["jobs"][0]["job_id"] == newer["job_id"]


# --- checkpoints and exports ---------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["documented", "permissive"])
def test_checkpoint_rows_carry_no_names_until_the_export_succeeded(mode: str, doc: Kit, kit: Kit) -> None:
    k = doc if mode == "documented" else kit
    job = k.succeeded_job()
    base = f"/api/v1/fine-tunes/{job['job_id']}"
    before = {v["checkpoint"]: v for v in k.http.get(f"{base}/checkpoints").json()["output"]}
    assert before["checkpoint-20"]["status"] == "PENDING" and "model_name" not in before["checkpoint-20"]
    assert (
        k.http.get(f"{base}/export/checkpoint-20", params={"model_name": "mine-c20"}).json()["output"] is True
    )
    seen = set()
    for _ in range(200):
        row = next(
            v
            for v in k.http.get(f"{base}/checkpoints").json()["output"]
            if v["checkpoint"] == "checkpoint-20"
        )
        seen.add(row["status"])
        if row["status"] != "SUCCEEDED":
            assert "model_name" not in row and "model_display_name" not in row, row
        else:
            assert row["model_display_name"] == "mine-c20" and row["model_name"].endswith("-c20")
            break
        k.clock.advance(0.02)
    assert seen == {"PENDING", "PROCESSING", "SUCCEEDED"}


def test_a_second_export_is_refused_whatever_the_name_and_names_nobody(doc: Kit, kit: Kit) -> None:
    job = doc.succeeded_job()
    url = f"/api/v1/fine-tunes/{job['job_id']}/export/checkpoint-20"
    assert doc.http.get(url, params={"model_name": "mine-c20"}).json()["output"] is True
    for name in ("mine-c20", "theirs-c20"):
        r = doc.http.get(url, params={"model_name": name})
        assert r.status_code == 400 and r.json()["code"] == "UnsupportedOperation"
        assert "mine" not in r.json()["message"]
    doc.clock.advance(1)  # SUCCEEDED: still refused
    assert doc.http.get(url, params={"model_name": "mine-c20"}).status_code == 400
    # permissive: the same name is harmless, another names the holder
    job = kit.succeeded_job()
    url = f"/api/v1/fine-tunes/{job['job_id']}/export/checkpoint-20"
    assert kit.http.get(url, params={"model_name": "mine-c20"}).json()["output"] is True
    assert kit.http.get(url, params={"model_name": "mine-c20"}).json()["output"] is True
    assert "mine-c20" in kit.http.get(url, params={"model_name": "theirs-c20"}).json()["message"]


# --- deployments ---------------------------------------------------------------------------------
def test_a_suffix_gives_model_name_8_hex_suffix_from_the_seed(doc: Kit, kit: Kit, clock: FakeClock) -> None:
    job = doc.succeeded_job()
    model = job["finetuned_output"]
    plain = _deploy(doc, model).json()["output"]
    assert plain["deployed_model"] == model
    named = _deploy(doc, model, suffix="sample01").json()["output"]["deployed_model"]
    assert re.fullmatch(re.escape(model) + r"-[0-9a-f]{8}-sample01", named), named
    again = Sandbox(clock=clock, seed=7, fidelity="documented")
    try:
        other = Kit(again, clock)
        twin = other.succeeded_job()
        _deploy(other, twin["finetuned_output"])
        assert (
            _deploy(other, twin["finetuned_output"], suffix="sample01").json()["output"]["deployed_model"]
            == named
        )
    finally:
        again.close()
    permissive = kit.succeeded_job()["finetuned_output"]
    assert (
        _deploy(kit, permissive, suffix="sample01").json()["output"]["deployed_model"]
        == f"{permissive}-sample01"
    )


def test_a_suffix_is_globally_unique_and_a_bare_model_deploys_once(doc: Kit, kit: Kit) -> None:
    a, b = doc.succeeded_job(), doc.succeeded_job()
    assert _deploy(doc, a["finetuned_output"], suffix="prod").status_code == 200
    r = _deploy(doc, a["finetuned_output"], suffix="prod")
    assert r.status_code == 409 and r.json()["code"] == "Conflict"
    assert _deploy(doc, b["finetuned_output"], suffix="prod").status_code == 409  # another model, same suffix
    assert _deploy(doc, a["finetuned_output"]).status_code == 200
    r = _deploy(doc, a["finetuned_output"])
    assert r.status_code == 409 and "please specify a suffix" in r.json()["message"]
    c, d = kit.succeeded_job(), kit.succeeded_job()
    assert _deploy(kit, c["finetuned_output"], suffix="prod").status_code == 200
    assert _deploy(kit, d["finetuned_output"], suffix="prod").status_code == 200


def test_scaling_a_lora_deployment_is_refused(doc: Kit, kit: Kit) -> None:
    for k, expected in ((doc, 400), (kit, 200)):
        name = _deploy(k, k.succeeded_job()["finetuned_output"]).json()["output"]["deployed_model"]
        k.clock.advance(2)
        r = k.http.put(f"/api/v1/deployments/{name}/scale", json={"capacity": 2})
        assert r.status_code == expected, r.text
        if expected == 400:
            assert r.json()["code"] == "UnsupportedOperation" and "plan mu only" in r.json()["message"]
            assert k.http.get(f"/api/v1/deployments/{name}").json()["output"]["status"] == "RUNNING"


def test_deployments_are_listed_oldest_first(doc: Kit, kit: Kit) -> None:
    for k, oldest_first in ((doc, True), (kit, False)):
        model = k.succeeded_job()["finetuned_output"]
        names = []
        for suffix in ("a", "b"):
            names.append(_deploy(k, model, suffix=suffix).json()["output"]["deployed_model"])
            k.clock.advance(0.01)
        listed = [
            d["deployed_model"] for d in k.http.get("/api/v1/deployments").json()["output"]["deployments"]
        ]
        assert listed == (names if oldest_first else names[::-1])


# --- the table -----------------------------------------------------------------------------------
def test_every_behaviour_has_both_answers_and_one_source() -> None:
    assert len({b[0] for b in BEHAVIOURS}) == len(BEHAVIOURS)
    for behaviour, documented, permissive, source in BEHAVIOURS:
        assert behaviour and documented and permissive, behaviour
        assert source in SOURCES, (behaviour, source)
    rows = {b[0]: b for b in BEHAVIOURS}
    for key in (
        "`deployed_model` with a `suffix`",
        "`hyper_parameters` echoed by job create, get and list",
        "checkpoint rows `model_name` and `model_display_name`",
        "file status after an upload",
        "`PUT /deployments/{dm}/scale` on a `plan: lora` deployment",
        "`finetuned_output` of a job",
    ):
        assert rows[key][3] in ("[seed]", "[doc]"), key
    assert rows["a second export of one checkpoint (queued, processing or done)"][3] == "guess"
