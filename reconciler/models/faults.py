"""Fault-injection configuration for the sandbox emulator (pure data).

Faults are configured per endpoint, from a Provider manifest (`spec.sandbox.faults`) or from
the environment (`RECONCILER_SANDBOX_FAULTS`, the same structure as JSON). The sandbox decides
*whether* a request suffers a fault (seeded, so tests are deterministic); the transport in
front of it decides *how* that looks to a client (an httpx exception in process, a dropped
socket over real HTTP).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reconciler.models.envelope import StrictModel

Rate = float

Fidelity = Literal["permissive", "documented"]
"""How helpful the emulator is where the provider documents leave a choice (DESIGN.md §5).

`documented` answers with the least helpful documented shape (providers.md §4b) and turns every
undocumented convenience off; crash, fault and end-to-end tests run in it. `permissive` keeps the
conveniences, for the quickstart."""
FIDELITIES: tuple[str, ...] = ("permissive", "documented")


class FaultRule(StrictModel):
    match: str = Field(
        "*",
        description=(
            "Which requests this rule applies to: 'METHOD /path' with {param} placeholders and * globs, "
            "e.g. 'POST /api/v1/fine-tunes', 'GET /api/v1/fine-tunes/*', or '*' for every request"
        ),
    )
    latency_ms: int = Field(0, ge=0, le=600_000, description="Added latency per request")
    rate_429: Rate = Field(0.0, ge=0, le=1, description="Fraction answered 429 Throttling with Retry-After")
    retry_after_s: float = Field(1.0, ge=0, le=3600, description="Retry-After sent with injected 429s")
    rate_5xx: Rate = Field(0.0, ge=0, le=1, description="Fraction answered 500/503")
    rate_timeout: Rate = Field(
        0.0, ge=0, le=1, description="Fraction that never answer (client read timeout)"
    )
    rate_reset: Rate = Field(
        0.0, ge=0, le=1, description="Fraction whose connection is reset before processing"
    )
    rate_lost_response: Rate = Field(
        0.0, ge=0, le=1, description="Fraction processed and committed, but whose response is lost"
    )
    rate_late_commit: Rate = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "Fraction that time out for the client but are committed by the provider later, "
            "late_commit_delay_s after they arrived (no idempotency keys: a re-sent create makes a twin)"
        ),
    )
    late_commit_delay_s: float = Field(
        35.0, ge=0, le=86_400, description="How long after arrival a late-committed request takes effect"
    )


class FaultConfig(StrictModel):
    seed: int | None = Field(None, description="Seed for the fault dice; fixed seeds make runs repeatable")
    rules: list[FaultRule] = Field(default_factory=list)
    fail_jobs: Rate = Field(0.0, ge=0, le=1, description="Fraction of training jobs that end FAILED")
    fail_message: str = Field("Training failed: loss diverged (injected by sandbox)")
    fail_previews: int = Field(
        0,
        ge=0,
        le=1000,
        description=(
            "DashScope: how many of a job's newest saved checkpoints have a failed validation preview "
            "(left out of validation-results, which lists only checkpoints whose preview succeeded)"
        ),
    )


class SandboxOptions(StrictModel):
    time_scale: float | None = Field(
        None, gt=0, description="How many emulated seconds pass per real second (default: the sandbox's own)"
    )
    faults: FaultConfig = Field(default_factory=FaultConfig)
    fidelity: Fidelity | None = Field(
        None,
        description=(
            "'documented': answer with the least helpful documented shapes (what recovery may rely on); "
            "'permissive' (the default): keep the emulator's conveniences"
        ),
    )
