"""With a fifth of all requests failing (429, 5xx, timeouts, lost responses), apply converges with no duplicates."""

from __future__ import annotations

import httpx
import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.sandbox import Sandbox


class Witness(httpx.BaseTransport):
    """Counts what the client actually suffered, so the test proves faults happened."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.failures = inner, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError:
            self.failures += 1
            raise
        if response.status_code >= 429:
            self.failures += 1
        return response


# 20 % in all; late commits land 35 s after a request whose client gives up at 30 s
FAULTY = FaultRule(
    match="*", rate_429=0.05, rate_5xx=0.04, rate_timeout=0.04, rate_lost_response=0.04, rate_late_commit=0.03
)


@pytest.mark.parametrize("seed", range(1, 9))
def test_apply_converges_through_a_20_percent_fault_rate(make_env, seed):
    env = make_env()
    env.clock = FakeClock()
    env.sandbox = Sandbox(
        clock=env.clock, seed=seed, faults=FaultConfig(seed=seed, rules=[FAULTY]), fidelity="documented"
    )
    witness = Witness(env.sandbox.transport())
    runs = 0
    for runs in range(1, 6):  # noqa: B007 — a run may end with a step failed by an exhausted retry; the next run finishes it
        ws = env.workspace()
        ws.wiring.transports["dashscope"] = witness
        _, result = ws.apply()
        if result is not None and result.ok:
            break
    assert runs < 6, "did not converge in 5 applies"
    assert witness.failures >= 1, "the fault rate did not bite; the test proves nothing"
    counts = env.sandbox.request_counts()
    # no duplicates: exactly one of each provider object, whatever was lost or retried
    assert len(env.live("files")) == 1
    assert len(env.live("fine_tunes")) == 1
    assert len(env.live("deployments")) == 1
    assert counts.get("POST /api/v1/fine-tunes", 0) >= 1
    ws = env.workspace()
    ws.wiring.transports["dashscope"] = env.sandbox.transport(faults=FaultConfig())  # read without faults
    plan = ws.plan()
    assert not plan.has_changes, [(a.address, a.action, a.reason) for a in plan.changes]


def test_a_lost_create_response_is_adopted_not_repeated(make_env):
    env = make_env()
    lost = FaultRule(match="POST /api/v1/fine-tunes", rate_lost_response=1.0)
    env.sandbox = Sandbox(
        clock=env.clock, seed=1, faults=FaultConfig(seed=1, rules=[lost]), fidelity="documented"
    )
    _, result = env.workspace().apply()
    assert result.ok, {a: o.message for a, o in result.outcomes.items()}
    assert env.sandbox.request_counts()["POST /api/v1/fine-tunes"] == 1  # sent once, then found by look-up
    assert len(env.live("fine_tunes")) == 1
