"""WaveSpeedAdapter (and its client) against the in-process WaveSpeed emulator, on a FakeClock."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from reconciler.clock import FakeClock
from reconciler.models.faults import FaultConfig, FaultRule
from reconciler.models.state import ResourceRecord, iso_utc
from reconciler.providers.errors import OutcomeUnknownError, RateLimitedError
from reconciler.providers.http import RetryPolicy
from reconciler.providers.interface import Desired, Observation, Phase
from reconciler.providers.wavespeed import WaveSpeedAdapter, WaveSpeedClient
from reconciler.sandbox import Sandbox

DIGEST = "sha256:" + "ab12" * 16
WEEK = 7 * 24 * 3600.0
SUBMIT_KEY = "POST /api/v3/wavespeed-ai/{trainer}"
RESULT_KEY = "GET /api/v3/predictions/{prediction_id}/result"


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "money-rain"
    folder.mkdir()
    for i in range(12):
        (folder / f"img_{i:02d}.jpg").write_bytes(b"\xff\xd8" + bytes([i]) * 64)
        (folder / f"img_{i:02d}.txt").write_text(f"p3r5on money rain {i}")
    return folder


def dataset_desired(
    source: Path | None = None, *, url: str | None = None, name: str = "money-rain", digest: str = DIGEST
) -> Desired:
    spec: dict[str, Any] = (
        {"provider": "ws", "source": str(source)} if source else {"provider": "ws", "url": url}
    )
    return Desired(
        address=f"Dataset/{name}",
        kind="Dataset",
        name=name,
        spec=spec,
        spec_hash="h-ds",
        content_digest=digest if source else None,
        source_path=str(source) if source else None,
    )


def fine_tune_desired(
    data_url: str,
    *,
    name: str = "money-rain-lora",
    trainer: str = "wan-2.2-image-lora-trainer",
    dataset: str = "money-rain",
    **spec: Any,
) -> Desired:
    full = {
        "provider": "ws",
        "trainer": trainer,
        "dataset": dataset,
        "trigger_word": "p3r5on",
        "steps": 1000,
        "learning_rate": 0.0002,
        "lora_rank": 32,
        **spec,
    }
    return Desired(
        address=f"FineTune/{name}",
        kind="FineTune",
        name=name,
        spec=full,
        spec_hash="h-ft",
        inputs={f"Dataset/{dataset}": {"url": data_url}},
    )


def record_of(desired: Desired, obs: Observation, now: float) -> ResourceRecord:
    return ResourceRecord(
        address=desired.address,
        kind=desired.kind,
        name=desired.name,
        provider="ws",
        provider_type="wavespeed",
        remote_id=obs.remote_id,
        spec=dict(desired.spec),
        spec_hash=desired.spec_hash,
        content_digest=desired.content_digest,
        status=obs.status,
        outputs=dict(obs.outputs),
        created_at=iso_utc(now),
    )


def settle(
    adapter: WaveSpeedAdapter, record: ResourceRecord, clock: FakeClock, limit: int = 200
) -> Observation:
    for _ in range(limit):
        obs = adapter.read(record)
        if obs.phase is not Phase.PENDING:
            return obs
        clock.advance(0.5)
    raise AssertionError("never settled")


def client_for(
    sandbox: Sandbox, clock: FakeClock, faults: FaultConfig | None = None, attempts: int = 5
) -> WaveSpeedClient:
    return WaveSpeedClient(
        "http://127.0.0.1",
        "sandbox-key",
        transport=sandbox.transport(faults=faults),
        retry=RetryPolicy(max_attempts=attempts, rng=random.Random(3)),
        clock=clock,
    )


def uploaded_dataset(
    adapter: WaveSpeedAdapter, images: Path, clock: FakeClock
) -> tuple[Desired, ResourceRecord]:
    desired = dataset_desired(images)
    obs = adapter.create(desired)
    return desired, record_of(desired, obs, clock.now())


# --- the whole lifecycle ------------------------------------------------------------------------
def test_upload_train_complete_download_delete(
    adapter: WaveSpeedAdapter, sandbox: Sandbox, clock: FakeClock, images: Path, tmp_path: Path
) -> None:
    ds, ds_record = uploaded_dataset(adapter, images, clock)
    assert ds_record.remote_id and ds_record.remote_id.endswith("/money-rain-ab12ab12ab12ab12.zip")
    assert adapter.read(ds_record).phase is Phase.READY

    ft = fine_tune_desired(ds_record.outputs["url"])
    created = adapter.create(ft)
    assert (created.phase, created.status) == (Phase.PENDING, "created")
    assert created.progress and "queued" in created.progress
    record = record_of(ft, created, clock.now())

    clock.advance(0.1)
    assert adapter.read(record).status == "processing"
    done = settle(adapter, record, clock)
    assert (done.phase, done.status) == (Phase.READY, "completed")
    assert set(done.outputs) == {"prediction_id", "high_noise_lora", "low_noise_lora", "outputs_expire_at"}
    assert "_high_noise_lora_" in done.outputs["high_noise_lora"]
    assert "_low_noise_lora_" in done.outputs["low_noise_lora"]
    assert not done.facts.get("missing_outputs")

    size, digest = adapter.client.download(done.outputs["low_noise_lora"], tmp_path / "low.safetensors")
    raw = (tmp_path / "low.safetensors").read_bytes()
    header_len = struct.unpack("<Q", raw[:8])[0]
    meta = json.loads(raw[8 : 8 + header_len])["__metadata__"]
    assert size == len(raw) and len(digest) == 64
    assert meta["prediction_id"] == created.remote_id and meta["trigger_word"] == "p3r5on"

    adapter.delete(record)
    gone = adapter.read(record)
    assert gone.phase is Phase.GONE and "deleted" in (gone.message or "")
    adapter.delete(record)  # already gone: still success
    assert sandbox.list_objects("wavespeed_predictions")[0]["_deleted"] is True


def test_single_lora_trainer_outputs_lora(adapter: WaveSpeedAdapter, clock: FakeClock, images: Path) -> None:
    _, ds_record = uploaded_dataset(adapter, images, clock)
    ft = fine_tune_desired(
        ds_record.outputs["url"], trainer="flux-dev-lora-trainer", lora_rank=16, learning_rate=0.0004
    )
    done = settle(adapter, record_of(ft, adapter.create(ft), clock.now()), clock)
    assert done.phase is Phase.READY
    assert {k for k in done.outputs if "lora" in k} == {"lora"}


def test_read_many_is_one_result_per_prediction(
    adapter: WaveSpeedAdapter, sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    ds, ds_record = uploaded_dataset(adapter, images, clock)
    records = [ds_record]
    for i in range(3):
        ft = fine_tune_desired(ds_record.outputs["url"], name=f"ft-{i}", steps=1000 + i)
        records.append(record_of(ft, adapter.create(ft), clock.now()))
    records.append(
        ResourceRecord(
            address="FineTune/lost",
            kind="FineTune",
            name="lost",
            provider="ws",
            provider_type="wavespeed",
            remote_id="f" * 32,
            spec={},
            spec_hash="x",
        )
    )
    sandbox.reset_counts()
    seen = adapter.read_many(records)
    assert sandbox.request_counts() == {RESULT_KEY: 4}
    assert seen["Dataset/money-rain"].phase is Phase.READY
    assert [seen[f"FineTune/ft-{i}"].phase for i in range(3)] == [Phase.PENDING] * 3
    assert seen["FineTune/lost"].phase is Phase.GONE


# --- ambiguous creates and discovery ------------------------------------------------------------
def test_find_after_a_lost_response_adopts_instead_of_duplicating(
    sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    plain = WaveSpeedAdapter("ws", client_for(sandbox, clock), clock=clock)
    _, ds_record = uploaded_dataset(plain, images, clock)
    lossy = FaultConfig(rules=[FaultRule(match="POST /api/v3/wavespeed-ai/*", rate_lost_response=1.0)])
    adapter = WaveSpeedAdapter("ws", client_for(sandbox, clock, lossy), clock=clock)
    ft = fine_tune_desired(ds_record.outputs["url"])
    since = clock.now()
    sandbox.reset_counts()
    with pytest.raises(OutcomeUnknownError):
        adapter.create(ft)
    assert sandbox.request_counts()[SUBMIT_KEY] == 1  # never re-sent

    found = adapter.find(ft, since - 300, claimed=set())
    assert found is not None and found.phase in (Phase.PENDING, Phase.READY)  # a lost-as-timeout waits 30 s
    predictions = sandbox.list_objects("wavespeed_predictions")
    assert [p["id"] for p in predictions] == [found.remote_id]
    assert adapter.find(ft, since - 300, claimed={found.remote_id}) is None  # never adopted twice
    other = fine_tune_desired(ds_record.outputs["url"], steps=2000)
    assert adapter.find(other, since - 300, claimed=set()) is None  # different hyper-parameters
    assert adapter.find(ft, clock.now() + 1, claimed=set()) is None  # created before `since`


def test_discover_with_no_state_uploads_again_and_adopts_only_a_provable_training(
    adapter: WaveSpeedAdapter, sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    ds, ds_record = uploaded_dataset(adapter, images, clock)
    ft = fine_tune_desired(ds_record.outputs["url"])
    first = adapter.create(ft)
    settle(adapter, record_of(ft, first, clock.now()), clock)

    claimed: set[str] = set()
    assert adapter.discover([ds], claimed) == {}  # an upload is never found again: it is uploaded again
    # (permissive) the history shows the input, and it matches exactly: provably ours
    found_ft = adapter.discover([ft], claimed)
    assert found_ft["FineTune/money-rain-lora"].remote_id == first.remote_id
    assert found_ft["FineTune/money-rain-lora"].phase is Phase.READY
    assert claimed == set()  # read, not written: the refresh claims what discovery returns
    assert adapter.discover([ft], {first.remote_id}) == {}  # once claimed, never adopted twice
    # a re-uploaded dataset has a new URL: the old training's input no longer proves anything
    again = fine_tune_desired(adapter.create(ds).outputs["url"])
    assert adapter.discover([again], set()) == {}


def test_failed_predictions_are_not_adopted(sandbox: Sandbox, clock: FakeClock, images: Path) -> None:
    adapter = WaveSpeedAdapter("ws", client_for(sandbox, clock, FaultConfig(fail_jobs=1.0)), clock=clock)
    _, ds_record = uploaded_dataset(adapter, images, clock)
    ft = fine_tune_desired(ds_record.outputs["url"])
    record = record_of(ft, adapter.create(ft), clock.now())
    failed = settle(adapter, record, clock)
    assert (failed.phase, failed.status) == (Phase.FAILED, "failed")
    assert failed.message == FaultConfig().fail_message
    assert adapter.discover([ft], set()) == {}


# --- limits, drift, expiry ----------------------------------------------------------------------
def test_bronze_tier_allows_three_concurrent_tasks(sandbox: Sandbox, clock: FakeClock, images: Path) -> None:
    adapter = WaveSpeedAdapter("ws", client_for(sandbox, clock), clock=clock)
    _, ds_record = uploaded_dataset(adapter, images, clock)
    for i in range(3):
        adapter.create(fine_tune_desired(ds_record.outputs["url"], name=f"ft-{i}", steps=10000))
    sandbox.reset_counts()
    with pytest.raises(RateLimitedError, match="3 concurrent tasks"):
        adapter.create(fine_tune_desired(ds_record.outputs["url"], name="ft-4", steps=10000))
    assert sandbox.request_counts()[SUBMIT_KEY] == 5  # a 429 answer created nothing: retried with backoff
    assert len(sandbox.list_objects("wavespeed_predictions")) == 3


def test_a_429_clears_once_a_slot_frees(sandbox: Sandbox, clock: FakeClock, images: Path) -> None:
    adapter = WaveSpeedAdapter("ws", client_for(sandbox, clock), clock=clock)
    _, ds_record = uploaded_dataset(adapter, images, clock)
    for i in range(3):  # 1000 steps: ~2 s on the sandbox clock
        adapter.create(fine_tune_desired(ds_record.outputs["url"], name=f"ft-{i}"))
    fourth = adapter.create(fine_tune_desired(ds_record.outputs["url"], name="ft-4"))
    assert fourth.phase is Phase.PENDING
    assert len(sandbox.list_objects("wavespeed_predictions")) == 4


def test_expired_outputs_are_drift(adapter: WaveSpeedAdapter, clock: FakeClock, images: Path) -> None:
    _, ds_record = uploaded_dataset(adapter, images, clock)
    ft = fine_tune_desired(ds_record.outputs["url"])
    record = record_of(ft, adapter.create(ft), clock.now())
    done = settle(adapter, record, clock)
    clock.advance(WEEK - 60)
    assert adapter.read(record).phase is Phase.READY
    clock.advance(120)
    expired = adapter.read(record)
    assert expired.phase is Phase.GONE and expired.status == "completed"
    assert expired.message and expired.message.startswith("LoRA output URLs expired on 2026-01-08")
    assert "reconciler output --download" in expired.message
    assert expired.outputs["outputs_expire_at"] == done.outputs["outputs_expire_at"]


def test_uploads_expire_after_seven_days_without_a_request(
    adapter: WaveSpeedAdapter, sandbox: Sandbox, clock: FakeClock, images: Path
) -> None:
    _, ds_record = uploaded_dataset(adapter, images, clock)
    sandbox.reset_counts()
    clock.advance(WEEK - 1)
    assert adapter.read(ds_record).phase is Phase.READY
    clock.advance(2)
    gone = adapter.read(ds_record)
    assert gone.phase is Phase.GONE
    assert gone.message == "upload expired on 2026-01-08 00:00 UTC (WaveSpeed keeps uploads 7 days)"
    assert sandbox.request_counts() == {}


def test_training_on_an_expired_upload_fails_with_the_reason(
    adapter: WaveSpeedAdapter, clock: FakeClock, images: Path
) -> None:
    _, ds_record = uploaded_dataset(adapter, images, clock)
    clock.advance(WEEK + 1)
    ft = fine_tune_desired(ds_record.outputs["url"])
    failed = settle(adapter, record_of(ft, adapter.create(ft), clock.now()), clock)
    assert failed.phase is Phase.FAILED and "HTTP 404" in (failed.message or "")


def test_too_few_images_fails_the_prediction(
    adapter: WaveSpeedAdapter, clock: FakeClock, tmp_path: Path
) -> None:
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(b"png")
    ds = dataset_desired(folder, name="few")
    ds_obs = adapter.create(ds)
    ft = fine_tune_desired(ds_obs.outputs["url"], dataset="few")
    failed = settle(adapter, record_of(ft, adapter.create(ft), clock.now()), clock)
    assert failed.message == "The training zip must contain at least 10 images (found 3)"


def test_url_datasets_need_no_provider_call(
    adapter: WaveSpeedAdapter, sandbox: Sandbox, clock: FakeClock
) -> None:
    ds = dataset_desired(url="https://data.example/set.zip")
    obs = adapter.create(ds)
    assert (obs.phase, obs.outputs) == (Phase.READY, {"url": "https://data.example/set.zip"})
    assert adapter.read(record_of(ds, obs, clock.now())).phase is Phase.READY
    assert adapter.discover([ds], set())["Dataset/money-rain"].remote_id == "https://data.example/set.zip"
    assert adapter.fingerprint(ds) == {"url": "https://data.example/set.zip"}
    adapter.delete(record_of(ds, obs, clock.now()))
    assert sandbox.request_counts() == {}


def test_cancel_deletes(adapter: WaveSpeedAdapter, sandbox: Sandbox, clock: FakeClock, images: Path) -> None:
    _, ds_record = uploaded_dataset(adapter, images, clock)
    ft = fine_tune_desired(ds_record.outputs["url"])
    record = record_of(ft, adapter.create(ft), clock.now())
    canceled = adapter.cancel(record)
    assert canceled.phase is Phase.GONE and "no cancel endpoint" in (canceled.message or "")
    assert adapter.read(record).phase is Phase.GONE
    assert sandbox.request_counts()["POST /api/v3/predictions/delete"] == 1


def test_fingerprint_and_interface_facts(adapter: WaveSpeedAdapter, images: Path) -> None:
    ft = fine_tune_desired("https://data.example/set.zip")
    assert adapter.fingerprint(ft) == {
        "model": "wavespeed-ai/wan-2.2-image-lora-trainer",
        "data": "https://data.example/set.zip",
        "trigger_word": "p3r5on",
        "steps": 1000,
        "learning_rate": 0.0002,
        "lora_rank": 32,
    }
    assert adapter.fingerprint(dataset_desired(images)) == {"filename": "money-rain-ab12ab12ab12ab12.zip"}
    assert adapter.type == "wavespeed" and adapter.name == "ws"
    with pytest.raises(ValueError, match="no in-place update"):
        adapter.update(
            ft,
            ResourceRecord(
                address="FineTune/x",
                kind="FineTune",
                name="x",
                provider="ws",
                provider_type="wavespeed",
                remote_id="p",
                spec={},
                spec_hash="h",
            ),
        )
    missing = Desired(address="FineTune/x", kind="FineTune", name="x", spec=dict(ft.spec), spec_hash="h")
    with pytest.raises(ValueError, match="has no URL yet"):
        adapter.fingerprint(missing)
