"""Deciding which requests suffer an injected fault (the configuration lives in `models.faults`).

Decisions are pure functions of (seed, rule, endpoint, n-th request to that endpoint), so a
seeded run is repeatable even when unrelated endpoints are called concurrently. This module
only *decides*; the WSGI server and the in-process transport decide how a fault looks on the
wire. Semantics:

- every rule whose `match` fits the request contributes its `latency_ms` (they add up);
- rules are then tried in order; each rolls once, and the first that hits decides the fault;
- within a rule the rates partition one roll: reset, timeout, 429, 5xx, lost response, late
  commit (if they sum above 1, later kinds get what is left);
- a late commit times out for the client and takes effect `late_commit_delay_s` after it
  arrived ([inf] providers.md §4b: no idempotency keys, so a timed-out create may still land).
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from typing import Literal

from reconciler.models.faults import FaultConfig, FaultRule

FaultKind = Literal["none", "reset", "timeout", "throttle", "server_error", "lost", "late_commit"]


@dataclass(frozen=True)
class FaultDecision:
    kind: FaultKind = "none"
    latency_s: float = 0.0
    status: int = 0  # for throttle / server_error
    retry_after_s: float = 0.0
    lost_as: Literal["timeout", "disconnect"] = "disconnect"  # how a lost response looks in process
    commit_delay_s: float = 0.0  # late_commit: when, after arrival, the provider commits the request


NO_FAULT = FaultDecision()


def unit(*parts: object) -> float:
    """A uniform number in [0, 1) derived from `parts` (sha256), the sandbox's only dice."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def rule_matches(rule: FaultRule, method: str, path: str, route_key: str) -> bool:
    pattern = rule.match.strip()
    if pattern in ("", "*"):
        return True
    if " " not in pattern:  # a bare path applies to every method
        return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(route_key.split(" ", 1)[-1], pattern)
    return fnmatch.fnmatchcase(f"{method} {path}", pattern) or fnmatch.fnmatchcase(route_key, pattern)


def decide(config: FaultConfig, seed: int, method: str, path: str, route_key: str, n: int) -> FaultDecision:
    """The fault for the `n`-th request (1-based) that reached `route_key`."""
    matching = [(i, r) for i, r in enumerate(config.rules) if rule_matches(r, method, path, route_key)]
    if not matching:
        return NO_FAULT
    latency = sum(r.latency_ms for _, r in matching) / 1000.0
    for index, rule in matching:
        roll = unit(seed, "fault", index, route_key, n)
        edge = 0.0
        rates: tuple[tuple[FaultKind, float], ...] = (
            ("reset", rule.rate_reset),
            ("timeout", rule.rate_timeout),
            ("throttle", rule.rate_429),
            ("server_error", rule.rate_5xx),
            ("lost", rule.rate_lost_response),
            ("late_commit", rule.rate_late_commit),
        )
        for kind, rate in rates:
            edge += rate
            if rate > 0 and roll < edge:
                detail = unit(seed, "fault-detail", index, route_key, n)
                return FaultDecision(
                    kind=kind,
                    latency_s=latency,
                    status=429 if kind == "throttle" else (500 if detail < 0.5 else 503),
                    retry_after_s=rule.retry_after_s,
                    lost_as="timeout" if detail < 0.5 else "disconnect",
                    commit_delay_s=rule.late_commit_delay_s,
                )
    return FaultDecision(latency_s=latency)


def job_failure(config: FaultConfig, seed: int, job_seq: int) -> float | None:
    """If the job with this sequence number is to fail: the fraction of training it reaches first."""
    if config.fail_jobs <= 0 or unit(seed, "fail-job", job_seq) >= config.fail_jobs:
        return None
    return 0.2 + 0.6 * unit(seed, "fail-at", job_seq)


def effective_seed(config: FaultConfig, sandbox_seed: int) -> int:
    return config.seed if config.seed is not None else sandbox_seed
