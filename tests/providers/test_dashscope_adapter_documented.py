"""The DashScope adapter against the sandbox in `documented` fidelity: it finds ours, and only ours.

Discovery and recovery may read only what the documents promise (DESIGN.md §3b, providers.md §4b):
hyper-parameters echoed as strings (and only five of them), `deployed_model` with 8 server-chosen
hex characters, checkpoint rows without names until their export SUCCEEDED, files that are
`uploaded`/`processing` before `processed`. Where two live objects fit, `AmbiguousMatch`.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.clock import FakeClock
from reconciler.models.dashscope import DashScopeCheckpointExport, DashScopeDeployment, DashScopeFineTune
from reconciler.models.state import ResourceRecord
from reconciler.providers.dashscope import DashScopeClient, DeploymentCreate
from reconciler.providers.dashscope.adapter import DashScopeAdapter, deployed_model_fits, same_hyper_parameter
from reconciler.providers.dashscope.types import Deployment, FineTuneJob
from reconciler.providers.errors import ConflictError, InvalidRequestError
from reconciler.providers.interface import AmbiguousMatch, Desired, Observation, Phase
from reconciler.sandbox import Sandbox

MODEL = "wan2.5-i2v-preview"
AIGC = {"use_input_prompt": False, "prompt": "p", "lora_prompt_default": "d"}
HP = {"n_epochs": 10, "eval_epochs": 2}


class World:
    """One sandbox (default fidelity `documented`), a client, an adapter and helpers to build `Desired`s."""

    def __init__(self, sandbox: Sandbox, clock: FakeClock, tmp: Path, fidelity: str | None = None) -> None:
        self.sb, self.clock, self.tmp = sandbox, clock, tmp
        self.client = DashScopeClient(
            "http://sandbox.localhost",
            "sk-test-0123456789",
            transport=sandbox.transport(fidelity=fidelity),
            clock=clock,
        )
        self.adapter = DashScopeAdapter("ds", self.client, clock=clock)

    # --- datasets --------------------------------------------------------------------------------
    def zip(self, name: str, samples: int = 10) -> Path:
        path = self.tmp / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(
                "data.jsonl",
                "\n".join(
                    json.dumps(
                        {
                            "prompt": f"{name} {i} s86b5p",
                            "first_frame_path": f"image_{i}.jpg",
                            "video_path": f"video_{i}.mp4",
                        }
                    )
                    for i in range(1, samples + 1)
                )
                + "\n",
            )
            for i in range(1, samples + 1):
                zf.writestr(f"image_{i}.jpg", b"\xff\xd8\xff" + bytes(8))
                zf.writestr(f"video_{i}.mp4", b"\x00\x00\x00\x18ftypmp42")
        return path

    def dataset(self, name: str) -> Desired:
        digest = f"{abs(hash(name)):016x}"[:16].ljust(16, "0")
        return Desired(
            address=f"Dataset/{name}",
            kind="Dataset",
            name=name,
            spec={"provider": "ds", "source": f"{name}.zip", "format": "i2v", "role": "training"},
            spec_hash=name,
            content_digest=digest,
            source_path=str(self.zip(name)),
        )

    def upload(self, name: str) -> str:
        obs = self.adapter.create(self.dataset(name))
        self.until(lambda: self.adapter.read(self.record("Dataset", name, obs.remote_id)), Phase.READY)
        return obs.remote_id

    # --- specs -----------------------------------------------------------------------------------
    def fine_tune(self, name: str, train: str, validation: str | None = None, **hp: Any) -> Desired:
        spec = DashScopeFineTune.model_validate(
            {
                "provider": "ds",
                "model": MODEL,
                "training_datasets": ["train"],
                "validation_datasets": ["val"] if validation else [],
                "hyper_parameters": {**HP, **hp},
            }
        ).model_dump(mode="json")
        inputs = {"Dataset/train": {"file_id": train}}
        if validation:
            inputs["Dataset/val"] = {"file_id": validation}
        return Desired(
            address=f"FineTune/{name}", kind="FineTune", name=name, spec=spec, spec_hash=name, inputs=inputs
        )

    def export(
        self, name: str, job_id: str, checkpoint: str = "checkpoint-20", model_name: str = "mine-c20"
    ) -> Desired:
        spec = DashScopeCheckpointExport.model_validate(
            {"provider": "ds", "fine_tune": "ft", "checkpoint": checkpoint, "model_name": model_name}
        ).model_dump(mode="json")
        return Desired(
            address=f"CheckpointExport/{name}",
            kind="CheckpointExport",
            name=name,
            spec=spec,
            spec_hash=name,
            inputs={"FineTune/ft": {"job_id": job_id}},
        )

    def deployment(self, name: str, model_name: str | None, suffix: str | None = None) -> Desired:
        spec = DashScopeDeployment.model_validate(
            {"provider": "ds", "fine_tune": "ft", "aigc_config": AIGC, "suffix": suffix}
        ).model_dump(mode="json")
        outputs = {"job_id": "ft-x"} | ({"finetuned_output": model_name} if model_name else {})
        return Desired(
            address=f"Deployment/{name}",
            kind="Deployment",
            name=name,
            spec=spec,
            spec_hash=name,
            inputs={"FineTune/ft": outputs},
        )

    @staticmethod
    def record(
        kind: str,
        name: str,
        remote_id: str,
        spec: dict[str, Any] | None = None,
        observed: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> ResourceRecord:
        return ResourceRecord(
            address=f"{kind}/{name}",
            kind=kind,
            name=name,
            provider="ds",
            provider_type="dashscope",
            remote_id=remote_id,
            spec=spec or {},
            spec_hash="h",
            observed=observed,
            outputs=outputs or {},
        )

    # --- time ------------------------------------------------------------------------------------
    def until(self, observe: Any, phase: Phase, step: float = 0.5, limit: int = 4000) -> Observation:
        for _ in range(limit):
            obs = observe()
            if obs.phase is phase:
                return obs
            self.clock.advance(step)
        raise AssertionError(f"never {phase}: {obs.status}")

    def trained(self, desired: Desired) -> Observation:
        obs = self.adapter.create(desired)
        return self.until(
            lambda: self.adapter.read(self.record("FineTune", desired.name, obs.remote_id)), Phase.READY
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock, seed=3, fidelity="documented", time_scale=600.0) as sb:
        yield sb


@pytest.fixture
def w(sandbox: Sandbox, clock: FakeClock, tmp_path: Path) -> World:
    return World(sandbox, clock, tmp_path)


# --- hyper-parameters compare numerically, whatever the echo ------------------------------------
@pytest.mark.parametrize(
    ("echoed", "wanted"),
    [
        ("1.6e-5", 1.6e-5),
        ("2.0E-5", 2e-05),
        ("2e-05", 2.0e-5),
        ("400", 400),
        (400, 400),
        (400, 400.0),
        ("400.0", 400),
        (2e-05, 2e-5),
        (" 0.9 ", 0.9),
        (".5", 0.5),
        (True, "true"),
        ("false", False),
        ("cosine", "cosine"),
        (1e-5, 1.0000000000001e-5),
    ],
)
def test_the_same_hyper_parameter_echoed_as_a_number_or_as_text(echoed: Any, wanted: Any) -> None:
    assert same_hyper_parameter(echoed, wanted)


@pytest.mark.parametrize(
    ("echoed", "wanted"),
    [
        ("2.0E-5", 1e-4),
        ("1.6e-5", 2e-5),
        ("400", 401),
        (400, "401"),
        ("abc", 400),
        (True, 1),
        (1, True),
        ("nan", 400),
        ("1_000", 1000),
        ("0x10", 16),
        ("inf", 1e308),
        ("linear", "cosine"),
        ("", 0),
    ],
)
def test_a_different_hyper_parameter_is_never_the_same(echoed: Any, wanted: Any) -> None:
    assert not same_hyper_parameter(echoed, wanted)


def test_a_job_echoing_a_subset_matches_and_one_differing_echo_does_not() -> None:
    fp = {
        "model": MODEL,
        "training_file_ids": ["f"],
        "validation_file_ids": [],
        "hyper_parameters": {"n_epochs": 400, "learning_rate": 2e-5, "lora_rank": 32, "split": 0.9},
    }
    job = FineTuneJob(
        job_id="ft-1",
        status="SUCCEEDED",
        model=MODEL,
        training_file_ids=["f"],
        hyper_parameters={"n_epochs": "400", "learning_rate": "2.0E-5"},
    )
    assert DashScopeAdapter._job_matches(job, fp)
    job.hyper_parameters["split"] = "0.8"
    assert not DashScopeAdapter._job_matches(job, fp)


# --- jobs ----------------------------------------------------------------------------------------
@pytest.fixture
def two_files(w: World) -> tuple[str, str]:
    return w.upload("train"), w.upload("other")


def test_discover_finds_our_job_though_it_echoes_strings_and_only_five_keys(w: World, two_files) -> None:
    train, _ = two_files
    desired = w.fine_tune("ft", train, learning_rate=1.6e-5)
    created = w.adapter.create(desired)
    echoed = created.object["hyper_parameters"]
    assert echoed["learning_rate"] == "1.6E-5" and "lora_rank" not in echoed  # the documented shape
    found = w.adapter.discover([desired], set())
    assert found["FineTune/ft"].remote_id == created.remote_id
    assert "finetuned_output" not in found["FineTune/ft"].outputs  # absent until SUCCEEDED
    assert w.adapter.find(desired, w.clock.now() - 300, set()).remote_id == created.remote_id


@pytest.mark.parametrize("fidelity", ["documented", "permissive"])  # echoes as strings, and as numbers
def test_discover_never_adopts_a_job_with_another_hyper_parameter(
    fidelity: str, sandbox, clock, tmp_path
) -> None:
    w = World(sandbox, clock, tmp_path, fidelity=fidelity)
    train = w.upload("train")
    theirs = w.adapter.create(w.fine_tune("theirs", train, learning_rate=1e-4))
    echoed = theirs.object["hyper_parameters"]["learning_rate"]
    assert echoed == ("1.0E-4" if fidelity == "documented" else 1e-4)
    ours = w.fine_tune("ft", train, learning_rate=2e-5)
    assert w.adapter.discover([ours], set()) == {}
    assert w.adapter.find(ours, 0.0, set()) is None
    assert w.adapter.discover([w.fine_tune("ft", train, n_epochs=20, eval_epochs=2)], set()) == {}
    assert (
        w.adapter.discover([w.fine_tune("ft", train, learning_rate=1e-4)], set())["FineTune/ft"].remote_id
        == theirs.remote_id
    )


def test_discover_never_adopts_a_job_on_other_training_or_validation_files(w: World, two_files) -> None:
    train, other = two_files
    w.adapter.create(w.fine_tune("theirs", other))
    assert w.adapter.discover([w.fine_tune("ft", train)], set()) == {}
    w.adapter.create(w.fine_tune("theirs-val", train, validation=other))
    assert w.adapter.discover([w.fine_tune("ft", train)], set()) == {}  # we have no validation set
    assert w.adapter.discover([w.fine_tune("ft", train, validation=train)], set()) == {}


def test_discover_never_adopts_a_claimed_job_and_two_live_candidates_are_ambiguous(
    w: World, two_files
) -> None:
    train, _ = two_files
    desired = w.fine_tune("ft", train)
    first = w.adapter.create(desired)
    assert w.adapter.discover([desired], {first.remote_id}) == {}
    w.clock.advance(61)
    second = w.adapter.create(desired)
    with pytest.raises(AmbiguousMatch) as info:
        w.adapter.discover([desired], set())
    assert sorted(info.value.candidates) == sorted([first.remote_id, second.remote_id])
    with pytest.raises(AmbiguousMatch):
        w.adapter.find(desired, 0.0, set())
    assert w.adapter.discover([desired], {first.remote_id})["FineTune/ft"].remote_id == second.remote_id
    # one object for one resource: a second resource with the same fingerprint is not given the same
    # job; and a batch that raises leaves the caller's claims untouched (the engine may ask again)
    claims = {second.remote_id}
    twin = w.fine_tune("twin", train)
    found = w.adapter.discover([desired, twin], claims)
    assert {a: o.remote_id for a, o in found.items()} == {"FineTune/ft": first.remote_id}
    assert claims == {second.remote_id}
    elsewhere = w.fine_tune("elsewhere", two_files[1])
    w.adapter.create(elsewhere)
    claims = set()
    with pytest.raises(AmbiguousMatch):
        w.adapter.discover([elsewhere, desired], claims)  # "elsewhere" is matched, then "ft" is ambiguous
    assert claims == set()
    # a hyper-parameter DashScope does not echo cannot tell two jobs apart: ambiguous, never a guess
    w.adapter.cancel(w.record("FineTune", "ft", second.remote_id))
    w.adapter.create(w.fine_tune("other-rank", train, lora_rank=64))
    with pytest.raises(AmbiguousMatch):
        w.adapter.discover([desired], set())


# --- files and readiness -------------------------------------------------------------------------
def test_a_dataset_is_pending_until_processed_and_a_job_cannot_start_before(w: World) -> None:
    obs = w.adapter.create(w.dataset("train"))
    assert obs.phase is Phase.PENDING and obs.status == "uploaded"
    with pytest.raises(InvalidRequestError, match="not ready"):
        w.adapter.create(w.fine_tune("ft", obs.remote_id))
    seen = set()
    record = w.record("Dataset", "train", obs.remote_id)
    while (now := w.adapter.read(record)).phase is not Phase.READY:
        assert now.phase is Phase.PENDING
        seen.add(now.status)
        w.clock.advance(0.01)
    assert seen == {"uploaded", "processing"} and now.status == "processed"
    assert w.adapter.create(w.fine_tune("ft", obs.remote_id)).phase is Phase.PENDING
    assert w.adapter.discover([w.dataset("train")], set())["Dataset/train"].remote_id == obs.remote_id


# --- deployments ---------------------------------------------------------------------------------
@pytest.fixture
def model(w: World, two_files) -> str:
    train, _ = two_files
    done = w.trained(w.fine_tune("ft", train))
    return done.outputs["finetuned_output"]


def test_a_suffixed_deployment_is_found_by_listing_though_its_id_has_8_hex(w: World, model: str) -> None:
    desired = w.deployment("d", model, suffix="sample01")
    created = w.adapter.create(desired)
    assert re.fullmatch(re.escape(model) + r"-[0-9a-f]{8}-sample01", created.remote_id)
    assert w.adapter.fingerprint(desired) == {"model_name": model, "suffix": "sample01"}
    found = w.adapter.discover([desired], set())
    assert found["Deployment/d"].remote_id == created.remote_id  # the provider's id, as returned
    assert w.adapter.find(desired, w.clock.now() - 300, set()).remote_id == created.remote_id
    assert w.adapter.discover([w.deployment("d", model)], set()) == {}  # no suffix: the bare model name only
    assert w.adapter.discover([w.deployment("d", model, suffix="other")], set()) == {}


def test_discover_never_adopts_another_models_or_a_claimed_or_a_deleting_deployment(
    w: World, model: str, two_files
) -> None:
    _, other = two_files
    theirs = w.trained(w.fine_tune("theirs", other, n_epochs=20)).outputs["finetuned_output"]
    dep = w.adapter.create(w.deployment("theirs", theirs))
    assert w.adapter.discover([w.deployment("d", model)], set()) == {}
    ours = w.adapter.create(w.deployment("d", model))
    assert w.adapter.discover([w.deployment("d", model)], {ours.remote_id}) == {}
    w.adapter.delete(w.record("Deployment", "d", ours.remote_id))
    assert w.adapter.discover([w.deployment("d", model)], set()) == {}  # DELETING is not a candidate
    assert (
        w.adapter.discover([w.deployment("theirs", theirs)], set())["Deployment/theirs"].remote_id
        == dep.remote_id
    )


def test_two_live_deployments_that_fit_are_ambiguous(w: World, model: str, sandbox: Sandbox, clock) -> None:
    documented = w.adapter.create(w.deployment("d", model, suffix="blue")).remote_id
    # The same account as an older API shape showed it: `<model>-<suffix>` beside `<model>-<hex>-<suffix>`.
    legacy = World(sandbox, clock, w.tmp, fidelity="permissive")
    plain = legacy.adapter.create(w.deployment("d", model, suffix="blue")).remote_id
    assert plain == f"{model}-blue" and deployed_model_fits(plain, model, "blue")
    with pytest.raises(AmbiguousMatch) as info:
        w.adapter.discover([w.deployment("d", model, suffix="blue")], set())
    assert sorted(info.value.candidates) == sorted([documented, plain])
    assert (
        w.adapter.discover([w.deployment("d", model, suffix="blue")], {plain})["Deployment/d"].remote_id
        == documented
    )


def test_a_409_is_resolved_by_listing_never_by_computing_the_id(w: World, model: str) -> None:
    desired = w.deployment("d", model, suffix="sfx")
    # a create whose answer was lost: it exists, the state does not know it
    lost = w.client.create_deployment(
        DeploymentCreate(model_name=model, capacity=1, aigc_config=AIGC, suffix="sfx")
    )
    adopted = w.adapter.create(desired)
    assert adopted.remote_id == lost.deployed_model and adopted.remote_id != f"{model}-sfx"
    assert w.sb.request_counts()["POST /api/v1/deployments"] == 2
    with pytest.raises(ConflictError, match="different suffix"):
        w.adapter.create(desired, claimed={lost.deployed_model})  # held by another resource: never adopted


def test_a_deployment_of_a_model_not_produced_yet_is_not_looked_for(w: World, two_files) -> None:
    train, _ = two_files
    running = w.adapter.create(w.fine_tune("ft", train))
    assert "finetuned_output" not in running.outputs
    assert w.adapter.discover([w.deployment("d", None)], set()) == {}
    assert w.adapter.find(w.deployment("d", None), 0.0, set()) is None


def test_a_deployment_is_matched_on_its_model_name_not_only_on_the_shape_of_its_id() -> None:
    # another model whose own name happens to look like "<ours>-<8 hex>-<suffix>", deployed bare
    lookalike = Deployment(deployed_model="m-0a1b2c3d-a", model_name="m-0a1b2c3d-a", status="RUNNING")
    ours = Deployment(deployed_model="m-9f8e7d6c-a", model_name="m", status="RUNNING")
    assert deployed_model_fits(lookalike.deployed_model, "m", "a")
    assert DashScopeAdapter._deployment_candidates([lookalike, ours], "m", "a", set()) == [ours]


# --- plan lora: capacity is never scaled, never drift ---------------------------------------------
def test_a_lora_deployment_is_never_scaled_and_never_reports_capacity(w: World, model: str) -> None:
    desired = w.deployment("d", model)
    name = w.adapter.create(desired).remote_id
    obs = w.until(lambda: w.adapter.read(w.record("Deployment", "d", name)), Phase.READY)
    assert "capacity" not in obs.live_fields
    w.sb.reset_counts()
    record = w.record("Deployment", "d", name, spec=dict(desired.spec), observed=obs.object)
    updated = w.adapter.update(
        Desired(**{**desired.__dict__, "spec": {**desired.spec, "capacity": 3}}), record
    )
    assert updated.phase is Phase.READY and "capacity" not in updated.live_fields
    assert "PUT /api/v1/deployments/{deployed_model}/scale" not in w.sb.request_counts()
    listed = w.adapter.read_many([record])["Deployment/d"]
    assert "capacity" not in listed.live_fields


def test_a_mu_deployment_still_scales_and_reports_capacity() -> None:
    class Client:
        def __init__(self) -> None:
            self.scaled: list[tuple[str, int]] = []

        def scale_deployment(self, name: str, capacity: int):  # type: ignore[no-untyped-def]
            from reconciler.providers.dashscope.types import Deployment

            self.scaled.append((name, capacity))
            return Deployment(
                deployed_model=name, model_name="m", status="UPDATING", plan="mu", capacity=capacity
            )

    client = Client()
    adapter = DashScopeAdapter("ds", client)  # type: ignore[arg-type]
    desired = Desired(
        address="Deployment/d",
        kind="Deployment",
        name="d",
        spec={"plan": "mu", "capacity": 4, "fine_tune": "ft"},
        spec_hash="h",
    )
    record = World.record("Deployment", "d", "m", spec={"plan": "mu", "capacity": 2}, observed={"plan": "mu"})
    obs = adapter.update(desired, record)
    assert client.scaled == [("m", 4)] and obs.live_fields == {"capacity": 4}


# --- exports -------------------------------------------------------------------------------------
@pytest.fixture
def job(w: World, two_files) -> str:
    train, _ = two_files
    return w.trained(w.fine_tune("ft", train)).remote_id


def _row(w: World, job_id: str, checkpoint: str = "checkpoint-20") -> dict[str, Any]:
    return next(c.model_dump() for c in w.client.list_checkpoints(job_id) if c.checkpoint == checkpoint)


def test_a_nameless_pending_export_is_resumed_not_failed(w: World, job: str) -> None:
    desired = w.export("c20", job)
    first = w.adapter.create(desired)
    assert first.phase is Phase.PENDING and first.status == "PENDING" and "model_name" not in first.outputs
    assert _row(w, job)["model_display_name"] is None  # the documented row: no names until SUCCEEDED
    # killed here; the next run creates again (its journal says it asked): refused, but resumed
    again = w.adapter.create(desired)
    assert again.phase is Phase.PENDING and again.remote_id == first.remote_id
    assert "queued" in (again.progress or "")
    w.clock.advance(0.06)  # PROCESSING
    processing = w.adapter.create(desired)
    assert processing.status == "PROCESSING" and processing.phase is Phase.PENDING
    done = w.until(lambda: w.adapter.read(w.record("CheckpointExport", "c20", first.remote_id)), Phase.READY)
    assert done.outputs["model_name"].endswith("-c20")
    assert w.adapter.create(desired).phase is Phase.READY  # and once more: ours, by its display name
    exports = w.sb.request_counts()["GET /api/v1/fine-tunes/{job_id}/export/{checkpoint}"]
    # the first; then preferred + fallback while the row is PENDING; the preferred alone once it moved on
    assert exports == 1 + 2 + 1 + 1


@pytest.mark.parametrize("fidelity", ["documented", "permissive"])
def test_a_kill_while_a_retrains_export_is_in_flight_no_longer_fails_every_later_run(
    fidelity: str, sandbox: Sandbox, clock: FakeClock, tmp_path: Path
) -> None:
    w = World(sandbox, clock, tmp_path, fidelity=fidelity)
    train = w.upload("train")
    old = w.trained(w.fine_tune("old", train)).remote_id
    w.adapter.create(w.export("c20", old))  # the previous job's export holds the name
    w.until(lambda: w.adapter.read(w.record("CheckpointExport", "c20", f"{old}:checkpoint-20")), Phase.READY)
    new = w.trained(w.fine_tune("new", train, n_epochs=20)).remote_id
    desired = w.export("c20", new)
    first = w.adapter.create(desired)  # preferred name taken → the fallback name
    assert first.phase is Phase.PENDING
    # killed; every later run used to fail with "checkpoint-20 was already exported with model_name …"
    for _ in range(2):
        assert w.adapter.create(desired).remote_id == f"{new}:checkpoint-20"
    done = w.until(lambda: w.adapter.read(w.record("CheckpointExport", "c20", first.remote_id)), Phase.READY)
    assert done.object["model_display_name"] == f"mine-c20-{new[-4:]}"
    assert w.adapter.discover([desired], set())["CheckpointExport/c20"].remote_id == first.remote_id


def test_find_after_an_ambiguous_export_pending_is_not_known_yet(w: World, job: str) -> None:
    desired = w.export("c20", job)
    since = w.clock.now() - 300
    assert w.adapter.find(desired, since, set()) is None  # never exported: PENDING
    w.client.export_checkpoint(job, "checkpoint-20", model_name="mine-c20")  # the call whose answer was lost
    assert w.adapter.find(desired, since, set()) is None  # queued: PENDING too, "not known yet"
    assert w.adapter.discover([desired], set()) == {}
    w.clock.advance(0.06)
    assert _row(w, job)["status"] == "PROCESSING"
    assert w.adapter.find(desired, since, set()).status == "PROCESSING"  # ours: the journal says we asked
    assert w.adapter.discover([desired], set()) == {}  # without a journal row, only SUCCEEDED with our name
    assert w.adapter.find(desired, since, {f"{job}:checkpoint-20"}) is None
    w.clock.advance(1)
    assert w.adapter.discover([desired], set())["CheckpointExport/c20"].phase is Phase.READY
    assert w.adapter.find(desired, since, set()).phase is Phase.READY


def test_an_export_someone_else_made_is_a_clear_conflict_never_adopted(w: World, job: str) -> None:
    w.client.export_checkpoint(job, "checkpoint-20", model_name="theirs-c20")
    desired = w.export("c20", job)
    w.clock.advance(0.06)
    assert w.adapter.find(desired, 0.0, set()).status == "PROCESSING"  # the journal would say we asked
    w.clock.advance(1)
    assert w.adapter.find(desired, 0.0, set()) is None and w.adapter.discover([desired], set()) == {}
    with pytest.raises(ConflictError) as info:
        w.adapter.create(desired)
    message = str(info.value)
    assert "already exported as 'theirs-c20'" in message and "model_name: theirs-c20" in message
    assert w.adapter.discover([w.export("c20", job, model_name="theirs-c20")], set())


def test_an_expired_checkpoints_refusal_is_not_mistaken_for_a_queued_export(w: World, job: str) -> None:
    w.clock.advance(15 * 24 * 3600 + 1)
    with pytest.raises(InvalidRequestError, match="expired"):
        w.adapter.create(w.export("c20", job))
