"""ImgOpen's training-result query — INFERRED, not documented. Verify against the live API.

providers.md §3.2: the doc sidebar lists a "Training result query" (POST) next to
submitTraining/Job (the Chinese doc calls the slot 训练结果回调, a *callback*), but its path,
request and response could not be retrieved. Everything in this module is an assumption made by
analogy with the same platform's generation-task query
(`POST /AIGCImgOpenServ/saas/sd/v2/queryTaskInfo` `{"businessTaskId"}` →
`{"code": "200", "data": {"status": 1|2|3, ...}}`, where third-party code treats 2 = done and
1/3 = in progress). This is the ONE place the assumption lives: the path, the request body, how
the response is read, and what each status code means. Every consumer (client, adapter) goes
through the functions below, so correcting the guess after a live check is a change here only.
The sandbox emulates the same guess (`reconciler.sandbox.imgopen.results`); a test keeps the two
in step.

Assumed contract:

    POST {base}/AIGCImgOpenServ/saas/modelTraining/queryTrainingResult
    {"taskId": "<the taskId given to submitTraining/Job>"}
    → {"code": "200", "msg": "success",
       "data": {"taskId": "...", "status": 1|2|3|4, "loraUrl": "https://…" (status 2), "msg": "…" (status 4)}}
    → {"code": "404", "msg": "taskId not found"}     (a taskId ImgOpen does not know)

Status codes: 1 queued, 3 training (both in progress), 2 succeeded (loraUrl set), 4 failed
(msg says why). Any other number is read as "in progress" and labelled unrecognised, so an
unexpected value makes a wait time out with a clear hint instead of inventing a terminal state.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from reconciler.providers.imgopen.types import ResultState, TrainingResult

RESULT_PATH = "/AIGCImgOpenServ/saas/modelTraining/queryTrainingResult"
"""Inferred path of the training-result query (providers.md §3.2) — unverified."""

ASSUMPTION_NOTE = (
    "the ImgOpen training-result endpoint is undocumented; reconciler assumes "
    f"POST {RESULT_PATH} {{taskId}} -> {{status, loraUrl}} (providers.md §3.2)"
)


class TrainingStatus(enum.IntEnum):
    """The inferred numeric `data.status` of a training task."""

    QUEUED = 1
    SUCCEEDED = 2
    TRAINING = 3
    FAILED = 4


# Business codes (in a 2xx envelope) that mean "no task with this taskId".
UNKNOWN_TASK_CODES = frozenset({"404"})
_UNKNOWN_TASK_TEXT = re.compile(
    r"task\s*(id)?\s*(\S+\s+)?(is\s+)?(not\s+found|not\s+exists?|does\s+not\s+exist)|任务.{0,12}不存在",
    re.IGNORECASE,
)

# Where the LoRA file's URL may be, first match wins (`loraUrl` is the assumption; the rest are
# spellings the platform's other endpoints use for file URLs).
_LORA_URL_KEYS = ("loraUrl", "loraFileUrl", "modelUrl", "fileUrl", "url")
_MESSAGE_KEYS = ("msg", "message", "errorMsg", "failReason")

_STATES = {
    TrainingStatus.QUEUED: ResultState.IN_PROGRESS,
    TrainingStatus.TRAINING: ResultState.IN_PROGRESS,
    TrainingStatus.SUCCEEDED: ResultState.SUCCEEDED,
    TrainingStatus.FAILED: ResultState.FAILED,
}
_WORDS = {
    TrainingStatus.QUEUED: "queued",
    TrainingStatus.TRAINING: "training",
    TrainingStatus.SUCCEEDED: "succeeded",
    TrainingStatus.FAILED: "failed",
}


def result_request(task_id: str) -> dict[str, Any]:
    """The JSON body of the result query."""
    return {"taskId": task_id}


def state_of(status: int) -> ResultState:
    """What a numeric status means; unknown numbers are still in progress (see module note)."""
    try:
        return _STATES[TrainingStatus(status)]
    except ValueError:
        return ResultState.IN_PROGRESS


def describe(status: int) -> str:
    """A human word for a status, e.g. 'queued' or 'unrecognised status 7'."""
    try:
        return _WORDS[TrainingStatus(status)]
    except ValueError:
        return f"unrecognised status {status} ({ASSUMPTION_NOTE})"


def is_unknown_task(code: str | None, message: str | None) -> bool:
    """Whether a (2xx) error envelope means "ImgOpen knows no task with this taskId"."""
    if code in UNKNOWN_TASK_CODES:
        return True
    return bool(message and _UNKNOWN_TASK_TEXT.search(message))


def parse_result(task_id: str, data: Any) -> TrainingResult:
    """The `data` of a successful result envelope. ValueError when it is not the assumed shape."""
    if not isinstance(data, dict):
        raise ValueError(f"expected data to be an object with a status ({ASSUMPTION_NOTE})")
    raw_status = data.get("status")
    if isinstance(raw_status, bool) or raw_status is None:
        raise ValueError(f"data.status is missing ({ASSUMPTION_NOTE})")
    try:
        status = int(str(raw_status).strip())
    except ValueError:
        raise ValueError(f"data.status {raw_status!r} is not a number ({ASSUMPTION_NOTE})") from None
    echoed = data.get("taskId")
    if echoed not in (None, "") and str(echoed) != task_id:
        raise ValueError(f"asked for taskId {task_id!r} but the answer is about {echoed!r}")
    state = state_of(status)
    lora_url = _first_text(data, _LORA_URL_KEYS)
    if state is ResultState.SUCCEEDED and not lora_url:
        raise ValueError(f"status {status} (succeeded) without a loraUrl ({ASSUMPTION_NOTE})")
    message = _first_text(data, _MESSAGE_KEYS)
    return TrainingResult(
        task_id=task_id,
        status=status,
        state=state,
        lora_url=lora_url if state is ResultState.SUCCEEDED else None,
        message=message if state is ResultState.FAILED else None,
        raw=dict(data),
    )


def _first_text(data: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


__all__ = [
    "ASSUMPTION_NOTE",
    "RESULT_PATH",
    "UNKNOWN_TASK_CODES",
    "TrainingStatus",
    "describe",
    "is_unknown_task",
    "parse_result",
    "result_request",
    "state_of",
]
