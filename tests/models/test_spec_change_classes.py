"""Every spec field (nested ones included) declares its change class, and the schema shows it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from reconciler.loading.spec_registry import installed_specs
from reconciler.models.changes import CHANGE_CLASS_KEY, ChangeClass, field_change_class
from reconciler.models.messages import nested_model
from reconciler.models.schemas import build_schemas

SPEC_MODELS = installed_specs().resources()


def walk(model: type[BaseModel], prefix: str = ""):
    """Yields (dotted field path, change class or None, parent class) for every field, recursively."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        cls = field_change_class(info)
        yield path, cls, info
        nested = nested_model(info.annotation)
        if nested is not None:
            for sub_path, sub_cls, sub_info in walk(nested, f"{path}."):
                yield sub_path, sub_cls, sub_info
                # nested objects take their parent field's class
                if cls is not None and sub_cls is not None and sub_cls is not cls:
                    raise AssertionError(f"{model.__name__}.{sub_path} is {sub_cls}, parent {path} is {cls}")


def all_fields():
    for (kind, provider), model in SPEC_MODELS.items():
        for path, cls, _ in walk(model):
            yield pytest.param(model, path, cls, id=f"{kind}/{provider}:{path}")


@pytest.mark.parametrize(("model", "path", "cls"), list(all_fields()))
def test_every_spec_field_has_a_change_class_and_description(model, path, cls):
    assert isinstance(cls, ChangeClass), f"{model.__name__}.{path} has no change class"


@pytest.mark.parametrize("model", list(SPEC_MODELS.values()), ids=lambda m: m.__name__)
def test_every_spec_field_has_a_description(model):
    for path, _, info in walk(model):
        assert info.description, f"{model.__name__}.{path} has no description"


def test_walk_detects_a_missing_change_class():
    class Bare(BaseModel):
        x: int = 1

    assert list((p, c) for p, c, _ in walk(Bare)) == [("x", None)]


@pytest.mark.parametrize(
    ("model_name", "field", "cls"),
    [
        ("DashScopeDataset", "source", "local"),
        ("DashScopeFineTune", "hyper_parameters", "retrain"),
        ("DashScopeHyperParameters", "lora_rank", "retrain"),
        ("DashScopeCheckpointExport", "checkpoint", "re-export"),
        ("DashScopeDeployment", "capacity", "update"),
        ("DashScopeDeployment", "aigc_config", "redeploy"),
        ("DashScopeAigcConfig", "prompt", "redeploy"),
        ("WaveSpeedDataset", "source", "local"),
        ("WaveSpeedDataset", "url", "retrain"),
        ("ImgOpenFineTune", "learningRate", "retrain"),
    ],
)
def test_schema_shows_change_class(model_name, field, cls):
    defs = build_schemas(installed_specs())["reconciler.json"]["$defs"]
    assert defs[model_name]["properties"][field][CHANGE_CLASS_KEY] == cls
