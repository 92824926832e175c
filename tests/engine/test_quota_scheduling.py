"""Quota-aware scheduling against the sandbox: DashScope's one running job and 20 running-or-succeeded
jobs per account, WaveSpeed's tier concurrency, and a raised quota in the Provider manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.clock import FakeClock
from reconciler.engine.outcomes import Outcome
from reconciler.models.plans import ActionType
from reconciler.render import plan_to_text
from reconciler.sandbox import Sandbox
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "manifests" / "quickstart" / "data" / "money-rain"

PROVIDER = """\
apiVersion: reconciler/v1
kind: Provider
metadata: {{name: dashscope}}
spec:
  type: dashscope
  endpoint: sandbox
{quota}"""

DATASET = """\
apiVersion: reconciler/v1
kind: Dataset
metadata: {name: shared-train}
spec: {provider: dashscope, source: data, format: i2v}
"""

FINE_TUNE = """\
---
apiVersion: reconciler/v1
kind: FineTune
metadata: {{name: ft-{i:02d}}}
spec:
  provider: dashscope
  model: wan2.5-i2v-preview
  training_datasets: [shared-train]
  hyper_parameters: {{n_epochs: {epochs}}}
"""


def write_fine_tunes(root: Path, count: int, quota: str = "") -> None:
    """One dataset and `count` fine-tunes that differ in n_epochs (distinct fingerprints)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").symlink_to(DATA, target_is_directory=True)
    (root / "provider.yaml").write_text(PROVIDER.format(quota=quota))
    jobs = "".join(FINE_TUNE.format(i=i, epochs=140 + i) for i in range(count))  # ≥ 840 steps each
    (root / "jobs.yaml").write_text(DATASET + jobs)


@pytest.fixture
def make_ws(tmp_path: Path) -> Callable[..., tuple[Workspace, Sandbox]]:
    def make(count: int, quota: str = "", time_scale: float | None = None) -> tuple[Workspace, Sandbox]:
        root = tmp_path / "m"
        write_fine_tunes(root, count, quota)
        clock = FakeClock()
        sandbox = Sandbox(clock=clock, seed=3, fidelity="documented", time_scale=time_scale)
        ws = Workspace([root], clock=clock, wiring=WiringContext(env={}, clock=clock, sandbox=sandbox))
        return ws, sandbox

    return make


def _jobs(sandbox: Sandbox) -> list[dict]:
    return sorted(
        (j for j in sandbox.list_objects("fine_tunes") if not j.get("_deleted")),
        key=lambda j: j["create_time"],
    )


def test_twenty_fine_tunes_queue_in_the_plan_and_apply_with_no_failed_submit(make_ws):
    ws, sandbox = make_ws(20)
    plan = ws.plan()
    assert not plan.errors
    trainings = [a for a in plan.actions if a.kind == "FineTune"]
    assert len(trainings) == 20
    # one slot: the n-th job waits behind the n-1 before it, for about the sum of their estimates
    behind = [a.cost.queued_behind for a in trainings if a.cost is not None]
    assert behind == list(range(20))
    waits = [a.cost.queue_wait_hours for a in trainings if a.cost is not None]
    assert waits == sorted(waits) and waits[0] == 0 and waits[-1] and waits[-1] > 100
    assert "queue: waits for a training slot on dashscope behind 19 jobs, about" in plan_to_text(plan)

    sandbox.reset_counts()
    _, result = ws.apply(plan)
    assert result is not None and result.ok, {
        a: o.message for a, o in result.outcomes.items() if o.outcome is not Outcome.SUCCEEDED
    }
    assert {o.outcome for o in result.outcomes.values()} == {Outcome.SUCCEEDED}
    # exactly one submit per job: none was refused (a refused create is never counted twice here)
    assert sandbox.request_counts()["POST /api/v1/fine-tunes"] == 20
    jobs = _jobs(sandbox)
    assert len(jobs) == 20 and {j["status"] for j in jobs} == {"SUCCEEDED"}
    # the executor held each submit until the previous job ended: never two on the account at once
    for before, after in zip(jobs, jobs[1:], strict=False):
        assert after["create_time"] >= before["end_time"], (before["job_id"], after["job_id"])


def test_twenty_five_fine_tunes_are_refused_at_plan_time_naming_the_quota(make_ws):
    ws, sandbox = make_ws(25)
    plan = ws.plan()
    assert len(plan.errors) == 1
    error = plan.errors[0]
    assert error["address"] == "Provider/dashscope" and error["field"] == "spec.quota.max_jobs"
    assert "25 FineTune jobs running or succeeded" in error["message"]
    assert "quota of 20" in error["message"] and "Only 20 fine-tune job" in error["message"]
    assert "plan 5 fewer new jobs" in error["message"]
    sandbox.reset_counts()
    _, result = ws.apply()
    assert result is None  # refused before anything was submitted
    assert not any(k.startswith("POST") for k in sandbox.request_counts())
    assert _jobs(sandbox) == []


def test_the_refusal_names_succeeded_jobs_that_could_be_deleted(make_ws, tmp_path):
    ws, _ = make_ws(18)
    _, result = ws.apply()
    assert result is not None and result.ok
    jobs = tmp_path / "m" / "jobs.yaml"
    jobs.write_text(jobs.read_text() + "".join(FINE_TUNE.format(i=i, epochs=140 + i) for i in range(18, 23)))
    plan = Workspace(ws.paths, clock=ws.clock, wiring=ws.wiring).plan()  # the edited manifests
    (error,) = plan.errors
    assert (
        "23 FineTune jobs running or succeeded on the account (18 already there, 5 new)" in error["message"]
    )
    assert "delete 3 of the succeeded jobs this state manages by removing their manifests" in error["message"]
    assert "or plan 3 fewer new jobs" in error["message"]
    assert "FineTune/ft-00 (ft-" in error["message"]


def test_a_raised_quota_in_the_provider_manifest_is_honoured(make_ws):
    ws, sandbox = make_ws(25, quota="  quota: {max_jobs: 30, concurrent_jobs: 5}\n")
    plan = ws.plan()
    assert plan.errors == []
    trainings = [a for a in plan.actions if a.kind == "FineTune" and a.action is ActionType.CREATE]
    # five slots: the sixth job is the first to wait, behind one
    assert [a.cost.queued_behind for a in trainings[:7] if a.cost] == [0, 0, 0, 0, 0, 1, 2]


def test_raised_concurrency_submits_that_many_at_once(make_ws):
    # real-length jobs (time scale 1): a job runs for hours of the fake clock, which only the waits'
    # polls move on, so the second submit cannot lose a race with the first job's end
    ws, sandbox = make_ws(4, quota="  quota: {concurrent_jobs: 2}\n", time_scale=1)
    _, result = ws.apply()
    assert result is not None and result.ok
    jobs = _jobs(sandbox)
    overlapping = sum(1 for a, b in zip(jobs, jobs[1:], strict=False) if b["create_time"] < a["end_time"])
    assert overlapping >= 1  # two slots: a second job went in while the first still ran
    # but never three at once
    for i, job in enumerate(jobs[2:], start=2):
        assert job["create_time"] >= min(j["end_time"] for j in jobs[i - 2 : i]), job["job_id"]


def test_no_wait_submits_one_job_and_defers_the_rest_until_its_slot_frees(make_ws):
    ws, sandbox = make_ws(3)
    for _ in range(20):  # in documented fidelity the upload is `processing` for a while first
        _, result = ws.apply(wait=False)
        assert result is not None
        if any(a.startswith("FineTune/") for a in ws.records()):
            break
        ws.clock.advance(1)  # type: ignore[attr-defined]  # the fixture's FakeClock
    outcomes = {a: o.outcome for a, o in result.outcomes.items() if a.startswith("FineTune/")}
    submitted = [a for a, o in outcomes.items() if o is Outcome.SUBMITTED]
    deferred = [a for a, o in outcomes.items() if o is Outcome.DEFERRED]
    assert len(submitted) == 1 and len(deferred) == 2
    assert "training slot on dashscope" in result.outcomes[deferred[0]].message
    assert len(_jobs(sandbox)) == 1


WAVESPEED_JOB = """\
---
apiVersion: reconciler/v1
kind: FineTune
metadata: {{name: shots-{i}}}
spec: {{provider: wavespeed, trainer: wan-2.2-image-lora-trainer, dataset: product-shots, steps: {steps}}}
"""


def test_wavespeed_runs_three_at_a_time_and_never_meets_its_429(example_copy):
    """Bronze tier: 3 concurrent tasks. The permissive emulator answers a 4th submit with 429 (the
    behaviour the issue reports); the executor waits for a slot instead, so five all go through."""
    root = example_copy("manifests/examples/wavespeed")
    (root / "samples.yaml").unlink()  # the trainings alone (Samples: test_wavespeed_samples.py)
    text = (root / "product-shots.yaml").read_text()
    text = text.replace(
        "  api_key_env: WAVESPEED_API_KEY\n",
        "  api_key_env: WAVESPEED_API_KEY\n  sandbox: {fidelity: permissive}\n",
    )
    (root / "product-shots.yaml").write_text(
        text + "".join(WAVESPEED_JOB.format(i=i, steps=1000 + i) for i in range(5))
    )
    clock = FakeClock()
    sandbox = Sandbox(clock=clock, seed=5)
    ws = Workspace([root], clock=clock, wiring=WiringContext(env={}, clock=clock, sandbox=sandbox))
    plan = ws.plan()
    behind = [a.cost.queued_behind for a in plan.actions if a.kind == "FineTune" and a.cost]
    assert behind == [0, 0, 0, 1, 2, 3]  # the example's own job and these five, three slots
    sandbox.reset_counts()
    _, result = ws.apply(plan)
    assert result is not None and result.ok, {
        a: o.message for a, o in result.outcomes.items() if o.outcome is not Outcome.SUCCEEDED
    }
    assert sandbox.request_counts()["POST /api/v3/wavespeed-ai/{trainer}"] == 6  # one each, none refused


def test_a_job_still_running_from_an_earlier_apply_holds_the_slot_in_plan_and_apply(make_ws, tmp_path):
    ws, sandbox = make_ws(1)
    for _ in range(20):  # submit the first job and return while it trains
        ws.apply(wait=False)
        if "FineTune/ft-00" in ws.records():
            break
        ws.clock.advance(1)  # type: ignore[attr-defined]  # the fixture's FakeClock
    jobs = tmp_path / "m" / "jobs.yaml"
    # named to sort before the running one: the order apply starts nodes in must not decide the slot
    jobs.write_text(jobs.read_text() + FINE_TUNE.format(i=1, epochs=141).replace("ft-01", "a-new"))
    ws = Workspace(ws.paths, clock=ws.clock, wiring=ws.wiring)
    plan = ws.plan()
    waiting = next(a for a in plan.actions if a.address == "FineTune/ft-00")
    new = next(a for a in plan.actions if a.address == "FineTune/a-new")
    assert waiting.action is ActionType.WAIT
    assert new.cost is not None and new.cost.queued_behind == 1 and new.cost.queue_wait_hours
    _, result = ws.apply(plan)
    assert result is not None and result.ok
    first, second = _jobs(sandbox)
    assert second["create_time"] >= first["end_time"]  # submitted only once the running one ended


def test_a_training_refused_as_busy_by_work_this_state_does_not_know_waits_and_goes_in(example_copy):
    """Three trainings someone else started fill the Bronze tier; the permissive emulator answers our
    submit 429. The executor waits and submits again once the account has room: no failed apply."""
    from reconciler.providers.wavespeed import WaveSpeedClient
    from reconciler.providers.wavespeed.types import TrainerInputs

    root = example_copy("manifests/examples/wavespeed")
    (root / "samples.yaml").unlink()  # the trainings alone (Samples: test_wavespeed_samples.py)
    text = (root / "product-shots.yaml").read_text()
    (root / "product-shots.yaml").write_text(
        text.replace(
            "  api_key_env: WAVESPEED_API_KEY\n",
            "  api_key_env: WAVESPEED_API_KEY\n  sandbox: {fidelity: permissive}\n",
        )
    )
    clock = FakeClock()
    sandbox = Sandbox(clock=clock, seed=5)
    other = WaveSpeedClient("http://127.0.0.1", "someone-else", transport=sandbox.transport(), clock=clock)
    data = "https://example.com/someone-elses.zip"
    for _ in range(3):  # long trainings: they outlast the client's own quick retries
        other.submit_trainer("wan-2.2-image-lora-trainer", TrainerInputs(data=data, steps=10000))
    ws = Workspace([root], clock=clock, wiring=WiringContext(env={}, clock=clock, sandbox=sandbox))
    sandbox.reset_counts()
    _, result = ws.apply()
    assert result is not None and result.ok, {
        a: o.message for a, o in result.outcomes.items() if o.outcome is not Outcome.SUCCEEDED
    }
    assert sandbox.request_counts()["POST /api/v3/wavespeed-ai/{trainer}"] > 1  # refused, then accepted
    assert len([r for r in ws.records() if r.startswith("FineTune/")]) == 1
