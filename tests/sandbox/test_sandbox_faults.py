"""Fault injection in process: each kind, seeded determinism, lost responses commit, job failures."""

from __future__ import annotations

import httpx
import pytest
from sandbox_testkit import AUTH, Kit

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.sandbox import Sandbox
from reconciler.sandbox.faults import decide


def client(sb: Sandbox, faults: FaultConfig | None = None, timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(
        transport=sb.transport(faults), base_url="http://sandbox", headers=AUTH, timeout=timeout
    )


def rule(**kw: object) -> FaultConfig:
    return FaultConfig(seed=1, rules=[FaultRule(**kw)])  # type: ignore[arg-type]


def test_latency_advances_the_fake_clock(sandbox: Sandbox, clock: FakeClock) -> None:
    c = client(sandbox, rule(match="GET /api/v1/fine-tunes", latency_ms=1500))
    before = clock.now()
    assert c.get("/api/v1/fine-tunes").status_code == 200
    assert clock.now() - before == pytest.approx(1.5)
    c.get("/api/v1/deployments")  # not matched: no latency
    assert clock.now() - before == pytest.approx(1.5)


def test_throttle_answers_429_with_retry_after_in_the_dashscope_envelope(sandbox: Sandbox) -> None:
    r = client(sandbox, rule(rate_429=1.0, retry_after_s=2.5)).get("/api/v1/fine-tunes")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "3" and r.headers["retry-after-ms"] == "2500"
    assert r.json()["code"] == "Throttling" and r.json()["request_id"] == r.headers["x-request-id"]


def test_server_errors_are_500_or_503(sandbox: Sandbox) -> None:
    c = client(sandbox, rule(rate_5xx=1.0))
    seen = {c.get("/api/v1/fine-tunes").status_code for _ in range(30)}
    assert seen == {500, 503}
    r = c.get("/api/v1/fine-tunes")
    assert r.json()["code"] in ("InternalError", "ServiceUnavailable")


def test_reset_and_timeout_raise_the_network_errors_and_change_nothing(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    with pytest.raises(httpx.ReadError):
        client(sandbox, rule(rate_reset=1.0)).post("/api/v1/fine-tunes", json={})
    before = clock.now()
    with pytest.raises(httpx.ReadTimeout):
        client(sandbox, rule(rate_timeout=1.0), timeout=7.0).get("/api/v1/fine-tunes")
    assert clock.now() - before == pytest.approx(7.0)  # the client waited its read timeout
    assert sandbox.request_counts() == {"POST /api/v1/fine-tunes": 1, "GET /api/v1/fine-tunes": 1}


def test_lost_response_commits_the_change_then_drops_the_answer(kit: Kit) -> None:
    file_id = kit.upload()
    lossy = client(kit.sb, rule(match="POST /api/v1/fine-tunes", rate_lost_response=1.0))
    body = {
        "model": "wan2.5-i2v-preview",
        "training_file_ids": [file_id],
        "training_type": "efficient_sft",
        "hyper_parameters": {"n_epochs": 10, "eval_epochs": 2},
    }
    for _ in range(6):
        with pytest.raises((httpx.ReadTimeout, httpx.RemoteProtocolError)):
            lossy.post("/api/v1/fine-tunes", json=body)
    assert len(kit.sb.list_objects("fine_tunes")) == 6  # each create happened although no answer arrived
    assert kit.http.get("/api/v1/fine-tunes").json()["output"]["total"] == 6


def test_rules_match_templates_globs_and_methods(sandbox: Sandbox) -> None:
    c = client(sandbox, rule(match="GET /api/v1/fine-tunes/*", rate_5xx=1.0))
    assert c.get("/api/v1/fine-tunes").status_code == 200
    assert c.get("/api/v1/fine-tunes/ft-x").status_code in (500, 503)
    assert c.post("/api/v1/fine-tunes/ft-x/cancel").status_code == 404  # POST not matched: real 404
    c = client(sandbox, rule(match="GET /api/v1/fine-tunes/{job_id}/logs", rate_5xx=1.0))
    assert c.get("/api/v1/fine-tunes/ft-x/logs").status_code in (500, 503)
    assert c.get("/api/v1/fine-tunes/ft-x").status_code == 404


def test_seeded_faults_are_repeatable_and_rates_are_respected() -> None:
    config = FaultConfig(rules=[FaultRule(rate_429=0.3, rate_5xx=0.2)])
    first = [decide(config, 42, "GET", "/x", "GET /x", n).kind for n in range(1, 501)]
    again = [decide(config, 42, "GET", "/x", "GET /x", n).kind for n in range(1, 501)]
    other = [decide(config, 43, "GET", "/x", "GET /x", n).kind for n in range(1, 501)]
    assert first == again and first != other
    assert 0.22 < first.count("throttle") / 500 < 0.38
    assert 0.13 < first.count("server_error") / 500 < 0.27


def test_same_seed_same_faults_through_the_transport(clock: FakeClock) -> None:
    def run() -> list[int]:
        with Sandbox(clock=clock, seed=3) as sb:
            c = client(sb, FaultConfig(seed=9, rules=[FaultRule(rate_429=0.5)]))
            return [c.get("/api/v1/fine-tunes").status_code for _ in range(20)]

    assert run() == run()
    assert set(run()) == {200, 429}


def test_injected_job_failures_end_failed_with_the_message(clock: FakeClock) -> None:
    faults = FaultConfig(seed=5, fail_jobs=1.0, fail_message="CUDA out of memory (injected)")
    with Sandbox(clock=clock, faults=faults) as sb:
        kit = Kit(sb, clock)
        job = kit.create_job()
        done = kit.run_until(job["job_id"], "FAILED")
        assert (
            done["message"] == "CUDA out of memory (injected)" and "end_time" in done and "usage" not in done
        )
        logs = kit.http.get(f"/api/v1/fine-tunes/{job['job_id']}/logs").json()["output"]["logs"]
        assert "ERROR - CUDA out of memory (injected)" in logs[-2] and not logs[-1].endswith(
            "##FT_COMPLETE##"
        )
        assert kit.http.get(f"/api/v1/fine-tunes/{job['job_id']}/checkpoints").json()["output"] == []
        r = kit.http.post(
            "/api/v1/deployments",
            json={"model_name": done["finetuned_output"], "plan": "lora", "capacity": 1},
        )
        assert r.status_code == 400


def test_faults_from_the_environment(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.setenv("RECONCILER_SANDBOX_FAULTS", '{"seed": 1, "rules": [{"match": "*", "rate_429": 1.0}]}')
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1200")
    with Sandbox(clock=clock) as sb:
        assert sb.time_scale == 1200
        assert client(sb).get("/api/v1/fine-tunes").status_code == 429
        assert (
            client(sb, FaultConfig()).get("/api/v1/fine-tunes").status_code == 200
        )  # per-transport override
    monkeypatch.setenv("RECONCILER_SANDBOX_FAULTS", '{"rules": [{"rate_429": 2}]}')
    with pytest.raises(ValueError, match="RECONCILER_SANDBOX_FAULTS"):
        Sandbox(clock=clock)


def test_late_commit_times_out_then_lands_after_its_delay(kit: Kit, clock: FakeClock) -> None:
    """A create the provider commits after the client gave up (providers.md §4b, [inf])."""
    file_id = kit.upload()
    late = client(
        kit.sb,
        rule(match="POST /api/v1/fine-tunes", rate_late_commit=1.0, late_commit_delay_s=35.0),
        timeout=30.0,
    )
    body = {
        "model": "wan2.5-i2v-preview",
        "training_file_ids": [file_id],
        "training_type": "efficient_sft",
        "hyper_parameters": {"n_epochs": 400},
    }
    sent_at = clock.now()
    with pytest.raises(httpx.ReadTimeout):
        late.post("/api/v1/fine-tunes", json=body)
    assert clock.now() - sent_at == pytest.approx(30.0)  # the client waited its read timeout
    plain = client(kit.sb)
    assert (
        plain.get("/api/v1/fine-tunes").json()["output"]["jobs"] == []
    )  # not committed yet: a look-up misses it
    clock.advance(5.0)
    jobs = plain.get("/api/v1/fine-tunes").json()["output"]["jobs"]
    assert len(jobs) == 1 and jobs[0]["training_file_ids"] == [file_id]
    assert kit.sb.request_counts()["POST /api/v1/fine-tunes"] == 1  # the late commit is not a second request


def test_late_commits_survive_a_restart_of_the_sandbox(tmp_path, clock: FakeClock) -> None:
    db = tmp_path / "sb.db"
    first = Sandbox(db_path=db, clock=clock, seed=3)
    with pytest.raises(httpx.ReadTimeout):
        client(
            first, rule(match="POST /api/v1/deployments", rate_late_commit=1.0, late_commit_delay_s=10.0)
        ).post("/api/v1/deployments", json={"model_name": "m", "plan": "lora", "capacity": 1})
    first.close()
    clock.advance(10.0)
    second = Sandbox(db_path=db, clock=clock, seed=3)
    try:
        assert second.wsgi_app.late_commits.pending() == 1
        client(second).get("/api/v1/deployments")
        assert second.wsgi_app.late_commits.pending() == 0
    finally:
        second.close()


def test_fidelity_is_checked_and_reaches_the_handlers(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.setenv("RECONCILER_SANDBOX_FIDELITY", "documented")
    assert Sandbox(clock=clock).fidelity == "documented"
    monkeypatch.setenv("RECONCILER_SANDBOX_FIDELITY", "helpful")
    with pytest.raises(ValueError, match="RECONCILER_SANDBOX_FIDELITY must be one of permissive, documented"):
        Sandbox(clock=clock)
    with pytest.raises(ValueError, match="fidelity must be one of"):
        Sandbox(clock=clock, fidelity="everything")
