"""What each provider's API cannot delete, and why: removing such an object only forgets it.

A table rather than a method on the adapters because the planner needs it even for
`plan --refresh=false`, which must not import any provider's HTTP client (start-up cost, and an
offline plan has no business loading one). The adapters answer `no_delete_api(kind)` from here.
"""

from __future__ import annotations

NO_DELETE_API: dict[str, dict[str, str]] = {
    "dashscope": {
        "CheckpointExport": "DashScope has no API to delete an exported model",
        "Sample": "DashScope has no API to delete a video-synthesis task (its video URL expires after 24 h)",
    },
    "wavespeed": {
        "Dataset": "WaveSpeed has no API to delete an upload (it expires 7 days after upload; "
        "a dataset given by URL was never uploaded)"
    },
    "imgopen": {
        "Dataset": "ImgOpen keeps no dataset objects (the dataset is your list of image URLs)",
        "FineTune": "ImgOpen has no delete or cancel API: the task stays on ImgOpen (a running one keeps running)",
    },
}


def no_delete_api(provider_type: str, kind: str) -> str | None:
    return NO_DELETE_API.get(provider_type, {}).get(kind)
