"""DashScope, WaveSpeed and ImgOpen each pass the provider conformance suite (`provider_suite.py`).

A kit per provider: its Provider manifest, a chain of resources (Dataset then FineTune), and for each
the variants that differ in one fingerprinted field. Every installed plugin must have a kit here or
run the suite itself (`test_every_installed_provider_runs_the_suite`), so none can skip it.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conformance.provider_suite import (  # noqa: F401 - the suite's tests run here, for each kit
    Inputs,
    Kit,
    Step,
    test_conformance_adoption_finds_ours_and_never_a_claimed_object,
    test_conformance_crud_in_dependency_order,
    test_conformance_error_mapping,
    test_conformance_fingerprints_that_differ_are_never_adopted,
    test_conformance_no_secret_in_any_repr,
    world,
)

from reconciler.models.dashscope import DashScopeFineTune, DashScopeProvider
from reconciler.models.imgopen import ImgOpenFineTune, ImgOpenProvider
from reconciler.models.resources import ProviderConfig
from reconciler.models.wavespeed import WaveSpeedProvider
from reconciler.providers.interface import Desired
from reconciler.providers.plugins import installed

URLS = [f"https://images.example.com/conformance-{i:02d}.jpg" for i in range(12)]
DATA_URL = "https://data.example.com/conformance/set.zip"


def desired(kind: str, name: str, spec: dict[str, Any], inputs: Inputs | None = None, **more: Any) -> Desired:
    # the identity the engine would give it: its spec and what it is built from
    identity = json.dumps([spec, inputs or {}, more.get("content_digest")], sort_keys=True, default=str)
    return Desired(
        address=f"{kind}/{name}",
        kind=kind,
        name=name,
        spec=spec,
        spec_hash=hashlib.sha256(identity.encode()).hexdigest(),
        inputs=inputs or {},
        **more,
    )


# --- ImgOpen: datasets are URL lists; a task is found again by its deterministic taskId ---------
def imgopen_kit() -> Kit:
    def dataset(inputs: Inputs, urls: list[str] = URLS) -> Desired:
        return desired("Dataset", "cats", {"provider": "io", "urls": urls})

    def fine_tune(inputs: Inputs, urls: list[str] | None = None, **fields: Any) -> Desired:
        spec = ImgOpenFineTune(provider="io", dataset="cats", **{"maxEpochs": 10, **fields})
        data = {"urls": urls or URLS, "count": len(urls or URLS)}
        return desired("FineTune", "cats-lora", spec.model_dump(mode="json"), {"Dataset/cats": data})

    return Kit(
        provider_type="imgopen",
        config=ProviderConfig(
            "io",
            ImgOpenProvider(
                type="imgopen",
                endpoint="sandbox",
                access_key_id_env="IO_ID",
                access_key_secret_env="IO_SECRET",
            ),
        ),
        chain=[
            Step(
                "Dataset",
                dataset,
                lambda i: {
                    "another URL list": dataset(i, [*URLS[:-1], "https://images.example.com/other.jpg"])
                },
                claimable=False,  # ImgOpen keeps no dataset objects: the id is derived from the URLs
            ),
            Step(
                "FineTune",
                fine_tune,
                lambda i: {
                    "another hyper-parameter": fine_tune(i, maxEpochs=11),
                    "another dataset URL": fine_tune(i, urls=URLS[1:]),
                },
            ),
        ],
        settle_step_s=30.0,
    )


# --- WaveSpeed: a dataset given by URL; an upload is never found again (documented) -------------
def wavespeed_kit() -> Kit:
    def dataset(inputs: Inputs, url: str = DATA_URL) -> Desired:
        return desired("Dataset", "rain", {"provider": "ws", "url": url})

    def fine_tune(inputs: Inputs, url: str | None = None, **spec: Any) -> Desired:
        data_url = url or inputs.get("Dataset/rain", {}).get("url", DATA_URL)
        full = {
            "provider": "ws",
            "trainer": "wan-2.2-image-lora-trainer",
            "dataset": "rain",
            "trigger_word": "p3r5on",
            "steps": 1000,
            "learning_rate": 0.0002,
            "lora_rank": 32,
            **spec,
        }
        return desired("FineTune", "rain-lora", full, {"Dataset/rain": {"url": data_url}})

    return Kit(
        provider_type="wavespeed",
        config=ProviderConfig(
            "ws", WaveSpeedProvider(type="wavespeed", endpoint="sandbox", api_key_env="WS_KEY")
        ),
        chain=[
            Step(
                "Dataset",
                dataset,
                lambda i: {"another dataset URL": dataset(i, DATA_URL + "?v=2")},
                claimable=False,  # a dataset given by URL is that URL, not a provider object
            ),
            Step(
                "FineTune",
                fine_tune,
                lambda i: {
                    "another hyper-parameter": fine_tune(i, learning_rate=0.0003),
                    "another dataset URL": fine_tune(i, url=DATA_URL + "?v=2"),
                },
                # WaveSpeed's history shows a training's model and time, not its inputs (providers.md §2)
                adoptable=False,
                find_compares_inputs=False,
            ),
        ],
        settle_step_s=60.0,
    )


# --- DashScope: a zip uploaded to the files API; a job found by model, file ids, hyper-parameters -
def dashscope_zip(folder: Path, name: str, samples: int = 10) -> Path:
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        lines = [
            json.dumps(
                {
                    "prompt": f"{name} {i}",
                    "first_frame_path": f"image_{i}.jpg",
                    "video_path": f"video_{i}.mp4",
                }
            )
            for i in range(1, samples + 1)
        ]
        zf.writestr("data.jsonl", "\n".join(lines) + "\n")
        for i in range(1, samples + 1):
            zf.writestr(f"image_{i}.jpg", b"\xff\xd8\xff" + bytes(8))
            zf.writestr(f"video_{i}.mp4", b"\x00\x00\x00\x18ftypmp42")
    return path


def dashscope_kit(tmp: Path) -> Kit:
    def dataset(inputs: Inputs, name: str = "train", digest: str = "0123456789abcdef") -> Desired:
        spec = {"provider": "ds", "source": f"{name}.zip", "format": "i2v", "role": "training"}
        return desired(
            "Dataset", "train", spec, content_digest=digest, source_path=str(dashscope_zip(tmp, name))
        )

    def fine_tune(inputs: Inputs, file_id: str | None = None, **hp: Any) -> Desired:
        spec = DashScopeFineTune.model_validate(
            {
                "provider": "ds",
                "model": "wan2.5-i2v-preview",
                "training_datasets": ["train"],
                "hyper_parameters": {"n_epochs": 10, "eval_epochs": 2, **hp},
            }
        ).model_dump(mode="json")
        train = file_id or inputs.get("Dataset/train", {}).get("file_id", "file-none")
        return desired("FineTune", "ft", spec, {"Dataset/train": {"file_id": train}})

    return Kit(
        provider_type="dashscope",
        config=ProviderConfig(
            "ds", DashScopeProvider(type="dashscope", endpoint="sandbox", api_key_env="DS_KEY")
        ),
        chain=[
            Step("Dataset", dataset, lambda i: {"other content": dataset(i, "other", "fedcba9876543210")}),
            Step(
                "FineTune",
                fine_tune,
                lambda i: {
                    "another hyper-parameter": fine_tune(i, n_epochs=12),
                    "another file id": fine_tune(i, file_id="file-fine-tune-0000000000000000"),
                },
            ),
        ],
        settle_step_s=600.0,
    )


KITS = {
    "imgopen": lambda tmp: imgopen_kit(),
    "wavespeed": lambda tmp: wavespeed_kit(),
    "dashscope": dashscope_kit,
}


@pytest.fixture(params=sorted(KITS))
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Kit:
    return KITS[request.param](tmp_path)


def test_every_installed_provider_runs_the_suite() -> None:
    assert set(KITS) == set(installed())  # a plugin outside the package runs the suite in its own tests
