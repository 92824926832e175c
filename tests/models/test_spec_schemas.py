"""JSON Schemas: current on disk, valid for our example documents, strict about mistakes."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.models.schemas import build_schemas, render_schema_files

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
SCHEMAS = build_schemas()

PROVIDERS = [
    {
        "apiVersion": "reconciler/v1",
        "kind": "Provider",
        "metadata": {"name": "dashscope-intl"},
        "spec": {
            "type": "dashscope",
            "endpoint": "https://dashscope-intl.aliyuncs.com",
            "api_key_env": "DASHSCOPE_API_KEY",
        },
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "Provider",
        "metadata": {"name": "local"},
        "spec": {
            "type": "dashscope",
            "endpoint": "sandbox",
            "sandbox": {"time_scale": 600, "faults": {"seed": 7}},
        },
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "Provider",
        "metadata": {"name": "ws"},
        "spec": {"type": "wavespeed", "api_key_env": "WAVESPEED_API_KEY"},
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "Provider",
        "metadata": {"name": "io"},
        "spec": {"type": "imgopen", "access_key_id_env": "IO_ID", "access_key_secret_env": "IO_SECRET"},
    },
]
RESOURCES = [
    {
        "apiVersion": "reconciler/v1",
        "kind": "Dataset",
        "metadata": {"name": "money-rain-train", "labels": {"team": "fx"}},
        "spec": {"provider": "dashscope-intl", "source": "data/money-rain", "format": "i2v"},
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "Dataset",
        "metadata": {"name": "faces"},
        "spec": {"provider": "ws", "url": "https://cdn.example/faces.zip"},
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "Dataset",
        "metadata": {"name": "io-faces"},
        "spec": {"provider": "io", "urls": [f"https://img.example/{i}.png" for i in range(10)]},
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "FineTune",
        "metadata": {"name": "money-rain"},
        "spec": {
            "provider": "dashscope-intl",
            "model": "wan2.5-i2v-preview",
            "training_datasets": ["money-rain-train"],
            "hyper_parameters": {"n_epochs": 400, "batch_size": 2, "learning_rate": 2.0e-5},
        },
        "lifecycle": {
            "prevent_destroy": True,
            "deletion": "retain",
            "ignore_changes": [],
            "timeouts": {"create": "12h"},
        },
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "FineTune",
        "metadata": {"name": "faces-lora"},
        "spec": {
            "provider": "ws",
            "trainer": "wan-2.2-image-lora-trainer",
            "dataset": "faces",
            "steps": 1500,
        },
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "FineTune",
        "metadata": {"name": "io-lora"},
        "spec": {"provider": "io", "dataset": "io-faces", "learningRate": 1e-5, "optimizerType": "AdamW8bit"},
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "CheckpointExport",
        "metadata": {"name": "money-rain-c160"},
        "spec": {
            "provider": "dashscope-intl",
            "fine_tune": "money-rain",
            "checkpoint": "checkpoint-160",
            "model_name": "money-rain-c160",
        },
    },
    {
        "apiVersion": "reconciler/v1",
        "kind": "Deployment",
        "metadata": {"name": "money-rain"},
        "spec": {
            "provider": "dashscope-intl",
            "checkpoint_export": "money-rain-c160",
            "aigc_config": {
                "use_input_prompt": False,
                "prompt": "Describe the image…",
                "lora_prompt_default": "x",
            },
        },
    },
]
EXAMPLES = PROVIDERS + RESOURCES


@functools.cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = SCHEMAS[name]
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_files_are_current():
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}
    assert on_disk == render_schema_files(), "schemas/ is stale: run `reconciler schema`"


def test_one_schema_per_kind_plus_combined():
    assert sorted(SCHEMAS) == sorted(
        [
            "provider.json",
            "dataset.json",
            "finetune.json",
            "checkpointexport.json",
            "deployment.json",
            "sample.json",
            "reconciler.json",
            "project.json",
        ]
    )


def test_output_is_deterministic():
    assert render_schema_files() == render_schema_files()


@pytest.mark.parametrize("doc", EXAMPLES, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_examples_validate(doc):
    assert list(validator("reconciler.json").iter_errors(doc)) == []
    assert list(validator(f"{doc['kind'].lower()}.json").iter_errors(doc)) == []


def _break(doc: dict, path: list[str], value: object) -> dict:
    broken = copy.deepcopy(doc)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("doc", "path", "value"),
    [
        (RESOURCES[3], ["spec", "hyper_parameters", "lora_rnk"], 16),
        (RESOURCES[3], ["spec", "model"], "wan9"),
        (RESOURCES[3], ["spec", "hyper_parameters", "split"], 1),
        (RESOURCES[3], ["metadata", "name"], "Money_Rain"),
        (RESOURCES[3], ["kind"], "Finetune"),
        (RESOURCES[3], ["apiVersion"], "v1"),
        (RESOURCES[3], ["extra"], {}),
        (RESOURCES[4], ["spec", "trainer"], "sdxl"),
        (RESOURCES[5], ["spec", "maxEpochs"], 51),
        (RESOURCES[5], ["spec", "mixedPrecision"], "fp32"),
        (RESOURCES[2], ["spec", "urls"], ["https://x/1.png"]),
        (RESOURCES[6], ["spec", "checkpoint"], "160"),
        (RESOURCES[7], ["spec", "capacity"], 1000),
        (RESOURCES[7], ["spec", "suffix"], "TOO-LONG-SUFFIX"),
        (PROVIDERS[0], ["spec", "api_key"], "sk-123"),
        (PROVIDERS[0], ["spec", "type"], "openai"),
        (PROVIDERS[0], ["spec", "api_key_env"], "sk-live key"),
        (PROVIDERS[2], ["spec", "access_key_id_env"], "X"),
    ],
)
def test_schema_rejects_mistakes(doc, path, value):
    broken = _break(doc, path, value)
    assert list(validator("reconciler.json").iter_errors(broken)) != []


def test_every_example_kind_is_covered():
    assert {d["kind"] for d in EXAMPLES} == {
        "Provider",
        "Dataset",
        "FineTune",
        "CheckpointExport",
        "Deployment",
    }


# ---------------------------------------------------------------------------------------------
# `reconciler schema`


def test_schema_command_writes_then_checks(tmp_path):
    runner = CliRunner()
    out = tmp_path / "schemas"
    result = runner.invoke(main, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 8 of 8 schema files" in result.output
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()} == render_schema_files()
    assert json.loads((out / "finetune.json").read_text())["title"] == "FineTune"

    result = runner.invoke(main, ["schema", "--out", str(out), "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output

    result = runner.invoke(main, ["schema", "--out", str(out)])
    assert "wrote 0 of 8 schema files" in result.output


def test_schema_check_lists_stale_and_missing_files(tmp_path):
    runner = CliRunner()
    runner.invoke(main, ["schema", "--out", str(tmp_path)])
    (tmp_path / "deployment.json").write_text("{}\n")
    (tmp_path / "provider.json").unlink()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = runner.invoke(main, ["schema", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert f"{tmp_path / 'deployment.json'}: stale" in result.output
    assert f"{tmp_path / 'provider.json'}: missing" in result.output
    assert "2 schema file(s)" in result.output and "run `reconciler schema --out" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # --check writes nothing


def test_the_example_project_file_validates_against_its_schema():
    import yaml

    example = Path(__file__).resolve().parents[2] / "manifests" / "project" / "reconciler.yaml"
    doc = yaml.safe_load(example.read_text())
    assert list(validator("project.json").iter_errors(doc)) == []
    assert list(validator("project.json").iter_errors({**doc, "enviroments": {}}))  # a typo is caught
