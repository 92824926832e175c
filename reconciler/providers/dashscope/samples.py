"""Samples on DashScope: a video rendered by the deployed Wan LoRA (providers.md §1.7).

The render is an async task: `POST …/video-synthesis` (with `X-DashScope-Async: enable`) answers a
`task_id`; `GET /api/v1/tasks/{task_id}` reports it (`video_url` once SUCCEEDED, valid 24 h).

**A lost submit response cannot be settled by looking.** DashScope documents no way to list
tasks (only to read one by its id), and the request carries no client-chosen id. So `find` can
only say "cannot tell": the engine then stops this Sample (the journal row stays open, the plan
shows the error) with the two commands that settle it — `reconciler import Sample/NAME TASK_ID` if
the task id is known (e.g. from the DashScope console), or `reconciler state resolve Sample/NAME
--absent` to render again, accepting one more billed render. It never re-sends on its own.
Without a journal row (a lost state file) a render cannot be recognised and is rendered again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.providers.interface import Observation, Phase

I2V_PATH = "/services/aigc/video-generation/video-synthesis"
KF2V_PATH = "/services/aigc/image2video/video-synthesis"

TASK_PHASES = {
    "PENDING": Phase.PENDING,
    "RUNNING": Phase.PENDING,
    "SUCCEEDED": Phase.READY,
    "FAILED": Phase.FAILED,
    "CANCELED": Phase.CANCELED,
    "UNKNOWN": Phase.GONE,  # "UNKNOWN = nonexistent id" [doc][sdk]
}

NOT_FINDABLE = (
    "DashScope documents no way to list video-synthesis tasks, so a render whose answer was lost "
    "cannot be found: if you know its task id, run `reconciler import {address} TASK_ID`; otherwise "
    "`reconciler state resolve {address} --absent` renders it again (one more render is billed)"
)


def deployed_model(inputs: Mapping[str, Mapping[str, Any]], deployment: str) -> str | None:
    value = (inputs.get(f"Deployment/{deployment}") or {}).get("deployed_model")
    return str(value) if value else None


def synthesis_request(spec: Mapping[str, Any], model: str) -> tuple[str, dict[str, Any]]:
    """(path under /api/v1, body) for one render of this Sample spec with `model`."""
    if spec.get("img_url"):
        path, given = I2V_PATH, {"img_url": spec["img_url"]}
    else:
        path, given = (
            KF2V_PATH,
            {"first_frame_url": spec["first_frame_url"], "last_frame_url": spec["last_frame_url"]},
        )
    if spec.get("prompt"):
        given["prompt"] = spec["prompt"]
    body = {
        "model": model,
        "input": given,
        "parameters": {
            "resolution": spec.get("resolution") or "720P",
            "prompt_extend": bool(spec.get("prompt_extend")),
        },
    }
    return path, body


def task_obs(task: Mapping[str, Any]) -> Observation:
    status = str(task.get("task_status") or "UNKNOWN")
    outputs: dict[str, Any] = {"task_id": task.get("task_id")}
    if status == "SUCCEEDED" and task.get("video_url"):
        outputs.update(media=task["video_url"], media_type="video")
    message = None
    if status == "FAILED":
        message = str(task.get("message") or task.get("code") or "render FAILED")
    elif status == "UNKNOWN":
        message = "DashScope no longer knows this task (task_status UNKNOWN)"
    return Observation(
        remote_id=str(task.get("task_id") or ""),
        phase=TASK_PHASES.get(status, Phase.PENDING),
        status=status,
        object=dict(task),
        outputs=outputs,
        message=message,
        progress="rendering" if status in ("PENDING", "RUNNING") else None,
    )
