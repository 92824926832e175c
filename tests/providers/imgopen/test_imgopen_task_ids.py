"""Deterministic taskIds, and the inferred result-endpoint contract kept in one module."""

from __future__ import annotations

import re

import pytest

from reconciler.providers.imgopen import result_endpoint
from reconciler.providers.imgopen.result_endpoint import (
    TrainingStatus,
    describe,
    is_unknown_task,
    parse_result,
)
from reconciler.providers.imgopen.task_ids import MAX_ATTEMPTS, MAX_LENGTH, task_id, task_ids
from reconciler.providers.imgopen.types import ResultState

HASH = "sha256:" + "ab" * 32


def test_same_address_and_spec_give_the_same_id() -> None:
    assert task_id("FineTune/money-rain", HASH) == task_id("FineTune/money-rain", HASH)
    assert (
        task_id("FineTune/money-rain", HASH) == "rcl-money-rain-" + task_id("FineTune/money-rain", HASH)[-16:]
    )


def test_a_changed_spec_or_address_gives_a_new_id() -> None:
    base = task_id("FineTune/money-rain", HASH)
    assert task_id("FineTune/money-rain", HASH[:-1] + "c") != base
    assert task_id("FineTune/money-rain2", HASH) != base
    assert task_id("Dataset/money-rain", HASH) != base  # the kind is part of the address


def test_ids_are_url_safe_and_at_most_64_characters() -> None:
    longest = "FineTune/" + "a-" * 31 + "z"
    for address in ("FineTune/x", longest, "FineTune/UPPER_case.name"):
        for tid in task_ids(address, HASH):
            assert len(tid) <= MAX_LENGTH and re.fullmatch(r"[a-z0-9-]+", tid), tid


def test_attempts_add_a_suffix_and_stay_distinct() -> None:
    ids = task_ids("FineTune/x", HASH)
    assert len(ids) == len(set(ids)) == MAX_ATTEMPTS
    assert ids[0] == task_id("FineTune/x", HASH) and ids[1] == ids[0] + "-r1"
    with pytest.raises(ValueError):
        task_id("FineTune/x", HASH, MAX_ATTEMPTS)
    with pytest.raises(ValueError):
        task_id("", HASH)


def test_status_codes_follow_the_documented_inference() -> None:
    assert result_endpoint.RESULT_PATH == "/AIGCImgOpenServ/saas/modelTraining/queryTrainingResult"
    assert [result_endpoint.state_of(s) for s in (1, 2, 3, 4)] == [
        ResultState.IN_PROGRESS,
        ResultState.SUCCEEDED,
        ResultState.IN_PROGRESS,
        ResultState.FAILED,
    ]
    assert result_endpoint.state_of(7) is ResultState.IN_PROGRESS
    assert "unrecognised status 7" in describe(7) and "providers.md §3.2" in describe(7)
    assert describe(TrainingStatus.QUEUED) == "queued"
    assert result_endpoint.result_request("t") == {"taskId": "t"}


def test_parse_result_accepts_string_statuses_and_alternative_url_keys() -> None:
    r = parse_result("t", {"status": "2", "loraFileUrl": "https://x/y.safetensors"})
    assert r.state is ResultState.SUCCEEDED and r.lora_url == "https://x/y.safetensors" and r.status == 2
    r = parse_result("t", {"taskId": "t", "status": 4, "message": "oom"})
    assert r.state is ResultState.FAILED and r.message == "oom"
    r = parse_result("t", {"taskId": "t", "status": 1, "loraUrl": "https://early"})
    assert r.lora_url is None  # only a finished task has a LoRA


@pytest.mark.parametrize(
    ("code", "msg", "unknown"),
    [
        ("404", None, True),
        ("1", "taskId abc not found", True),
        ("1", "Task does not exist", True),
        ("1", "任务不存在", True),
        ("400", "image file not found", False),
        ("400", "taskId is required", False),
    ],
)
def test_unknown_task_recognition(code: str, msg: str | None, unknown: bool) -> None:
    assert is_unknown_task(code, msg) is unknown
