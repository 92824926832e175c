"""The test-only local trainer passes the same provider conformance suite, found through its entry point."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from conformance.provider_suite import (  # noqa: F401 - the suite's tests run here, for this kit
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

from reconciler.models.resources import ProviderConfig
from reconciler.providers.interface import Desired
from reconciler.providers.plugins import installed, plugin_for

URLS = [f"https://images.example.com/local-{i}.jpg" for i in range(5)]


def desired(kind: str, name: str, spec: dict[str, Any], inputs: Inputs | None = None) -> Desired:
    identity = json.dumps([spec, inputs or {}], sort_keys=True)
    return Desired(
        address=f"{kind}/{name}",
        kind=kind,
        name=name,
        spec=spec,
        spec_hash=hashlib.sha256(identity.encode()).hexdigest(),
        inputs=inputs or {},
    )


def dataset(inputs: Inputs, urls: list[str] = URLS) -> Desired:
    return desired("Dataset", "faces", {"provider": "local", "urls": urls})


def job(inputs: Inputs, dataset_id: str | None = None, **hp: Any) -> Desired:
    ds = dataset_id or inputs.get("Dataset/faces", {}).get("dataset_id", "ds-none")
    spec = {
        "provider": "local",
        "dataset": "faces",
        "hyper_parameters": {"learning_rate": 0.001, "epochs": 3, **hp},
    }
    return desired("FineTune", "faces-lora", spec, {"Dataset/faces": {"dataset_id": ds}})


@pytest.fixture
def kit(local_trainer: None) -> Kit:
    from localtrainer.models import LocalTrainerProvider

    return Kit(
        provider_type="localtrainer",
        config=ProviderConfig(
            "local", LocalTrainerProvider(type="localtrainer", endpoint="sandbox", api_key_env="LOCAL_KEY")
        ),
        chain=[
            Step(
                "Dataset",
                dataset,
                lambda i: {"another dataset URL": dataset(i, [*URLS[:-1], "https://x.example/y.jpg"])},
            ),
            Step(
                "FineTune",
                job,
                lambda i: {
                    "another hyper-parameter": job(i, learning_rate=0.002),
                    "another file id": job(i, dataset_id="ds-000000000000"),
                },
            ),
        ],
        settle_step_s=0.5,
    )


def test_it_is_found_through_the_entry_point_only_while_installed(local_trainer: None) -> None:
    plugin = plugin_for("localtrainer")
    assert plugin is not None and plugin.title == "Local trainer (test only)"
    assert "localtrainer" in installed() and plugin.facts.running("FineTune", "training")
