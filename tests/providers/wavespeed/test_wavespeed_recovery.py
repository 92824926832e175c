"""Finding WaveSpeed trainings again from documented shapes only (providers.md §4b, DESIGN.md §3b).

The documented history shows a prediction's model, status and creation time — never its input —
and upload URLs are opaque. `find` must settle an ambiguous submit from that alone (one candidate
→ ours, several → AmbiguousMatch), an `input` where one shows may only rule candidates out, and
discovery must never adopt by an upload's file name.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.providers.candidates import ReportsUnrecognised
from reconciler.providers.errors import OutcomeUnknownError
from reconciler.providers.http import RetryPolicy
from reconciler.providers.interface import AmbiguousMatch, Desired, Phase
from reconciler.providers.wavespeed import WaveSpeedAdapter, WaveSpeedClient
from reconciler.sandbox import Sandbox

DIGEST = "sha256:" + "ab12" * 16
MODEL = "wavespeed-ai/wan-2.2-image-lora-trainer"
SUBMIT = "POST /api/v3/wavespeed-ai/*"
LOST = FaultConfig(rules=[FaultRule(match=SUBMIT, rate_lost_response=1.0)])


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "money-rain"
    folder.mkdir()
    for i in range(12):
        (folder / f"img_{i:02d}.jpg").write_bytes(b"\xff\xd8" + bytes([i]) * 64)
    return folder


@pytest.fixture(params=["documented", "permissive"])
def fidelity(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sandbox(clean_sandbox_env: None, clock: FakeClock, fidelity: str) -> Iterator[Sandbox]:
    sb = Sandbox(clock=clock, seed=7, time_scale=600.0, fidelity=fidelity)
    yield sb
    sb.close()


def adapter_for(sandbox: Sandbox, clock: FakeClock, faults: FaultConfig | None = None) -> WaveSpeedAdapter:
    client = WaveSpeedClient(
        "http://127.0.0.1",
        "sandbox-key",
        transport=sandbox.transport(faults=faults),
        retry=RetryPolicy(max_attempts=3, rng=random.Random(3)),
        clock=clock,
    )
    return WaveSpeedAdapter("ws", client, clock=clock)


def dataset(source: Path, name: str = "money-rain") -> Desired:
    return Desired(
        address=f"Dataset/{name}",
        kind="Dataset",
        name=name,
        spec={"provider": "ws", "source": str(source)},
        spec_hash="h-ds",
        content_digest=DIGEST,
        source_path=str(source),
    )


def fine_tune(data_url: str | None, name: str = "money-rain-lora", **spec: Any) -> Desired:
    full = {
        "provider": "ws",
        "trainer": "wan-2.2-image-lora-trainer",
        "dataset": "money-rain",
        "trigger_word": "p3r5on",
        "steps": 1000,
        "learning_rate": 0.0002,
        "lora_rank": 32,
        **spec,
    }
    inputs = {"Dataset/money-rain": {"url": data_url}} if data_url else {}
    return Desired(
        address=f"FineTune/{name}", kind="FineTune", name=name, spec=full, spec_hash="h-ft", inputs=inputs
    )


def upload(adapter: WaveSpeedAdapter, images: Path, name: str = "money-rain") -> str:
    return str(adapter.create(dataset(images, name)).outputs["url"])


def lost_submit(sandbox: Sandbox, clock: FakeClock, desired: Desired) -> None:
    with pytest.raises(OutcomeUnknownError):
        adapter_for(sandbox, clock, LOST).create(desired)


# --- find after an ambiguous submit -------------------------------------------------------------
def test_find_after_a_lost_response_finds_the_one_prediction(
    sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    adapter = adapter_for(sandbox, clock)
    ft = fine_tune(upload(adapter, images))
    clock.advance(1)
    since = clock.now()
    sandbox.reset_counts()
    lost_submit(sandbox, clock, ft)
    assert sandbox.request_counts()["POST /api/v3/wavespeed-ai/{trainer}"] == 1  # never re-sent

    found = adapter.find(ft, since, claimed=set())
    live = sandbox.list_objects("wavespeed_predictions")
    assert found is not None and [p["id"] for p in live] == [found.remote_id]
    assert found.phase in (Phase.PENDING, Phase.READY)  # a lost-as-timeout waits 30 s on the fake clock


def test_two_trainings_of_the_trainer_since_the_submit_are_ambiguous(
    sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    adapter = adapter_for(sandbox, clock)
    url = upload(adapter, images)
    since = clock.now()
    lost_submit(sandbox, clock, fine_tune(url))
    lost_submit(sandbox, clock, fine_tune(url))  # e.g. a twin re-sent by someone, or another run
    with pytest.raises(AmbiguousMatch) as caught:
        adapter.find(fine_tune(url), since, claimed=set())
    ids = {p["id"] for p in sandbox.list_objects("wavespeed_predictions")}
    assert caught.value.address == "FineTune/money-rain-lora" and set(caught.value.candidates) == ids
    assert MODEL in caught.value.why


def test_a_claimed_prediction_is_never_returned(sandbox: Sandbox, clock: FakeClock, images: Path) -> None:
    adapter = adapter_for(sandbox, clock)
    url = upload(adapter, images)
    since = clock.now()
    mine = adapter.create(fine_tune(url, name="other"))  # owned by another resource
    assert adapter.find(fine_tune(url), since, claimed={mine.remote_id}) is None
    lost_submit(sandbox, clock, fine_tune(url))
    found = adapter.find(fine_tune(url), since, claimed={mine.remote_id})
    assert found is not None and found.remote_id != mine.remote_id


def test_predictions_before_since_or_failed_are_not_candidates(
    sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    adapter = adapter_for(sandbox, clock)
    url = upload(adapter, images)
    earlier = adapter.create(fine_tune(url))
    clock.advance(5)
    assert adapter.find(fine_tune(url), clock.now(), claimed=set()) is None  # created before `since`
    since = clock.now()
    failed = adapter_for(sandbox, clock, FaultConfig(fail_jobs=1.0)).create(fine_tune(url))
    clock.advance(3600)
    statuses = {p["id"]: p["status"] for p in sandbox.list_objects("wavespeed_predictions")}
    assert statuses == {earlier.remote_id: "completed", failed.remote_id: "failed"}
    assert adapter.find(fine_tune(url), since, claimed=set()) is None  # its only candidate failed


def test_a_late_commit_is_found_once_it_lands(sandbox: Sandbox, clock: FakeClock, images: Path) -> None:
    adapter = adapter_for(sandbox, clock)
    ft = fine_tune(upload(adapter, images))
    since = clock.now()
    late = FaultConfig(rules=[FaultRule(match=SUBMIT, rate_late_commit=1.0, late_commit_delay_s=600)])
    with pytest.raises(OutcomeUnknownError):
        adapter_for(sandbox, clock, late).create(ft)
    assert adapter.find(ft, since, claimed=set()) is None  # not committed yet: the engine looks again later
    clock.advance(600)
    found = adapter.find(ft, since, claimed=set())
    assert found is not None and found.remote_id == sandbox.list_objects("wavespeed_predictions")[0]["id"]


@pytest.mark.parametrize("fidelity", ["permissive"], indirect=True)
def test_a_shown_input_with_another_dataset_url_rules_a_candidate_out(
    sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    adapter = adapter_for(sandbox, clock)
    ours, theirs = upload(adapter, images, "ours"), upload(adapter, images, "theirs")
    since = clock.now()
    adapter.create(fine_tune(theirs, name="someone-else"))  # same trainer and params, another dataset
    adapter.create(fine_tune(ours, name="ours", steps=2000))  # same dataset, other params
    lost_submit(sandbox, clock, fine_tune(ours))
    found = adapter.find(fine_tune(ours), since, claimed=set())
    assert found is not None
    mine = [
        p
        for p in sandbox.list_objects("wavespeed_predictions")
        if p["input"]["data"] == ours and p["input"]["steps"] == 1000
    ]
    assert [found.remote_id] == [p["id"] for p in mine]


def test_the_fingerprint_holds_what_find_needs(sandbox: Sandbox, clock: FakeClock) -> None:
    fp = adapter_for(sandbox, clock).fingerprint(fine_tune("https://data.example/set.zip"))
    assert fp == {
        "model": MODEL,
        "data": "https://data.example/set.zip",
        "trigger_word": "p3r5on",
        "steps": 1000,
        "learning_rate": 0.0002,
        "lora_rank": 32,
    }


# --- discovery without state --------------------------------------------------------------------
def test_discovery_never_adopts_an_upload_by_its_file_name(
    sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    adapter = adapter_for(sandbox, clock)
    url = upload(adapter, images)
    adapter.create(fine_tune(url))  # the history (permissive) now names the upload in an input
    clock.advance(3600)
    sandbox.reset_counts()
    assert adapter.discover([dataset(images)], set()) == {}
    assert adapter.find(dataset(images), clock.now() - 7200, set()) is None
    assert sandbox.request_counts() == {}  # not even looked for: an upload cannot be found again
    assert adapter.discover([fine_tune(None)], set()) == {}  # no dataset URL: nothing can be proven


def test_discovery_adopts_only_an_exactly_matching_shown_input(
    sandbox: Sandbox, clock: FakeClock, fidelity: str, images: Path
) -> None:
    adapter = adapter_for(sandbox, clock)
    url = upload(adapter, images)
    first = adapter.create(fine_tune(url))
    clock.advance(3600)
    found = adapter.discover([fine_tune(url)], claimed := set())
    if fidelity == "permissive":  # the input shows and matches exactly: provably ours
        assert found["FineTune/money-rain-lora"].remote_id == first.remote_id
        assert adapter.discover([fine_tune(url)], {first.remote_id}) == {}  # once claimed, never again
    else:  # the documented history shows no input: nothing can be recognised
        assert found == {}
    assert claimed == set()  # read, not written: the refresh claims what discovery returns
    assert adapter.discover([fine_tune(url, steps=2000)], set()) == {}


def test_unrecognised_lists_the_candidates_for_the_plan(
    sandbox: Sandbox, clock: FakeClock, fidelity: str, images: Path
) -> None:
    adapter = adapter_for(sandbox, clock)
    assert isinstance(adapter, ReportsUnrecognised)
    url = upload(adapter, images)
    first = adapter.create(fine_tune(url))
    clock.advance(3600)
    other = adapter.create(fine_tune(url, steps=2000))
    report = adapter.unrecognised([fine_tune(url), dataset(images)], set())
    assert set(report) == {"FineTune/money-rain-lora"}
    ids = [c.remote_id for c in report["FineTune/money-rain-lora"].candidates]
    # permissive shows the other one's input (steps 2000): provably not this resource
    assert ids == ([first.remote_id] if fidelity == "permissive" else [other.remote_id, first.remote_id])
    warning = report["FineTune/money-rain-lora"].warning()
    assert warning.startswith(f"{len(ids)} unclaimed trainings of {MODEL} exist from the last 7 days")
    assert "`reconciler import FineTune/money-rain-lora <id>`" in warning
    assert adapter.unrecognised([fine_tune(url)], set(ids)) == {}  # claimed ones are nobody's candidates
    # with no dataset URL known (no state for it either) the trainer's trainings are still listed
    assert "FineTune/money-rain-lora" in adapter.unrecognised([fine_tune(None)], set())


@pytest.mark.parametrize("fidelity", ["permissive"], indirect=True)
def test_two_exactly_matching_inputs_are_ambiguous_in_discovery(
    sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    adapter = adapter_for(sandbox, clock)
    url = upload(adapter, images)
    a, b = adapter.create(fine_tune(url)), adapter.create(fine_tune(url))
    with pytest.raises(AmbiguousMatch) as caught:
        adapter.discover([fine_tune(url)], set())
    assert set(caught.value.candidates) == {a.remote_id, b.remote_id}
    assert (
        adapter.discover([fine_tune(url)], {a.remote_id})["FineTune/money-rain-lora"].remote_id == b.remote_id
    )


# --- against a scripted server: only documented fields, filters checked locally too ---------------
def test_find_asks_the_history_by_model_and_time_and_checks_both(server, client, clock: FakeClock) -> None:
    from wavespeed_fakes import envelope, prediction

    since = 1767225600.0  # 2026-01-01T00:00:00Z
    items = [
        prediction("new", "processing", created_at="2026-01-01T00:00:05.123456789Z"),
        prediction("old", "completed", created_at="2025-12-31T23:59:00.000000000Z"),  # before `since`
        prediction(
            "flux",
            "processing",
            model="wavespeed-ai/flux-dev-lora-trainer",
            created_at="2026-01-01T00:00:06.000Z",
        ),
    ]  # another trainer
    server.on(
        "POST",
        "/api/v3/predictions",
        envelope({"page": 1, "items": items}),
        envelope({"page": 2, "items": []}),
    )
    server.on("GET", "/api/v3/predictions/new/result", envelope(prediction("new", "processing")))
    adapter = WaveSpeedAdapter("ws", client, clock=clock)
    found = adapter.find(fine_tune("https://data.example/set.zip"), since, set())
    assert found is not None and found.remote_id == "new"
    asked = [s.json() for s in server.sent if s.path == "/api/v3/predictions"][0]
    assert asked["model"] == MODEL and asked["created_after"] == "2026-01-01T00:00:00.000Z"
