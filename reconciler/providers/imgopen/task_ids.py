"""Deterministic ImgOpen `taskId`s: the same resource and spec always give the same id.

ImgOpen lets the client choose the taskId ("required and unique", providers.md §3.1), which
makes it the natural idempotency key and the fingerprint discovery looks for: a re-submit after
a crash or a lost response names the task we already made, so it is recognised, not duplicated;
a changed spec (its hash also covers the dataset URLs) gives a new id, so it trains anew.

    rcl-<name>-<16 hex of sha256("<address>|<spec_hash>")>[-r<attempt>]

The `attempt` suffix exists only because a taskId can never be reused: when the task for a spec
FAILED, retraining the very same spec needs a fresh id (attempt 1, 2, …). Attempt 0 has no
suffix. Ids are URL-safe ([a-z0-9-]) and at most 64 characters.
"""

from __future__ import annotations

import hashlib
import re

PREFIX = "rcl"
MAX_LENGTH = 64
MAX_ATTEMPTS = 20  # attempt numbers 0..19: 19 retrainings of one unchanged spec
_NAME_CHARS = 36  # "rcl-" + 36 + "-" + 16 hex + "-r19" = 61 <= 64
_NOT_SAFE = re.compile(r"[^a-z0-9]+")


def _sanitised_name(address: str) -> str:
    name = address.rpartition("/")[2].lower()
    cleaned = _NOT_SAFE.sub("-", name).strip("-")[:_NAME_CHARS].strip("-")
    return cleaned or "task"


def task_id(address: str, spec_hash: str, attempt: int = 0) -> str:
    """The taskId for `address` (e.g. 'FineTune/money-rain') at `spec_hash`, the `attempt`-th try."""
    if not address or not spec_hash:
        raise ValueError("task_id needs a resource address and a spec hash")
    if not 0 <= attempt < MAX_ATTEMPTS:
        raise ValueError(f"attempt must be between 0 and {MAX_ATTEMPTS - 1} (got {attempt})")
    digest = hashlib.sha256(f"{address}|{spec_hash}".encode()).hexdigest()[:16]
    text = f"{PREFIX}-{_sanitised_name(address)}-{digest}"
    return f"{text}-r{attempt}" if attempt else text


def task_ids(address: str, spec_hash: str) -> list[str]:
    """Every id this resource and spec may have used, attempt 0 first."""
    return [task_id(address, spec_hash, n) for n in range(MAX_ATTEMPTS)]


__all__ = ["MAX_ATTEMPTS", "MAX_LENGTH", "PREFIX", "task_id", "task_ids"]
