"""Which checkpoint `latest` / `latest-validated` name, decided after training.

Why a module of its own: the choice reads DashScope facts (checkpoint names carry their step,
`validation-results` lists only checkpoints whose preview succeeded, providers.md §1.5) and
must be made the same way by `create`, by `find` after a lost response and by a refresh, so
the journaled fingerprint and the recorded outputs agree. Steps are read from the name
(`checkpoint-<step>`) or the row's `step`, never from list order: the documents disagree on
the order (string order in the seed's validation-results, step-descending in a newer page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.models.dashscope import CHECKPOINT_REASONS as REASONS  # re-exported for the adapter
from reconciler.models.dashscope import CHECKPOINT_SELECTORS

_STEP = re.compile(r"checkpoint-0*([0-9]+)$")


@dataclass(frozen=True)
class CheckpointChoice:
    selector: str  # as written in the manifest: checkpoint-N, latest or latest-validated
    checkpoint: str | None  # what it names now; None until the job has saved (and previewed) one
    reason: str

    def describe(self) -> str:
        """'latest-validated → checkpoint-40: newest with a successful validation preview'."""
        if self.checkpoint is None:
            return f"{self.selector}: {self.reason}"
        return f"{self.selector} → {self.checkpoint}: {self.reason}"


def is_selector(value: str) -> bool:
    return value in CHECKPOINT_SELECTORS


def step_of(name: str) -> int | None:
    match = _STEP.search(name)
    return int(match.group(1)) if match else None


def newest(names: list[str]) -> str | None:
    stepped = [(s, n) for n in names if (s := step_of(n)) is not None]
    return max(stepped)[1] if stepped else None


def choose(selector: str, saved: list[str], previewed: list[str]) -> CheckpointChoice:
    """Resolve `selector` against the job's saved checkpoints and those whose preview succeeded."""
    if not is_selector(selector):
        return CheckpointChoice(selector, selector, "named in the manifest")
    pool = saved if selector == "latest" else [n for n in previewed if not saved or n in saved]
    picked = newest(pool)
    if picked is None:
        what = (
            "no checkpoint saved yet"
            if selector == "latest"
            else "no checkpoint with a successful preview yet"
        )
        return CheckpointChoice(selector, None, f"resolved after training ({what})")
    return CheckpointChoice(selector, picked, REASONS[selector])


__all__ = ["REASONS", "CheckpointChoice", "choose", "is_selector", "newest", "step_of"]
