"""`SpecRegistry`: each provider type's spec models, loaded only when a manifest uses the type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from reconciler.loading.spec_registry import SHIPPED_WITH, installed_specs
from reconciler.models.dashscope import DashScopeDataset, DashScopeProvider
from reconciler.models.imgopen import ImgOpenFineTune, ImgOpenProvider
from reconciler.models.kinds import Kind
from reconciler.models.registry import SpecRegistry
from reconciler.models.specs import ResourceSpec


@dataclass
class Fake:
    type: str
    provider: type
    models: dict[Kind, type[ResourceSpec]] = field(default_factory=dict)

    def load_provider_spec(self) -> type:
        return self.provider

    def load_spec_models(self) -> Mapping[Kind, type[ResourceSpec]]:
        return self.models


def test_a_type_is_loaded_only_when_asked_for() -> None:
    loads: list[str] = []
    plugins = {
        "dashscope": Fake("dashscope", DashScopeProvider, {Kind.DATASET: DashScopeDataset}),
        "imgopen": Fake("imgopen", ImgOpenProvider, {Kind.FINE_TUNE: ImgOpenFineTune}),
    }
    registry = SpecRegistry(plugins, lambda t: loads.append(t) or plugins[t])
    assert registry.provider_types() == ["dashscope", "imgopen"]
    assert loads == []  # listing the types (for an unknown-type error) imports nothing
    assert registry.spec_model(Kind.DATASET, "dashscope") is DashScopeDataset
    assert registry.spec_model(Kind.FINE_TUNE, "dashscope") is None
    assert loads == ["dashscope"]
    assert registry.providers_serving(Kind.FINE_TUNE) == ["imgopen"]
    assert loads == ["dashscope", "imgopen"]  # each loaded once
    assert registry.spec_model(Kind.DATASET, "nobody") is None and registry.provider_spec("nobody") is None


def test_a_plugin_whose_models_name_another_type_is_refused() -> None:
    wrong_provider = SpecRegistry.of([Fake("imgopen", DashScopeProvider)])
    with pytest.raises(ValueError, match="'imgopen'.*DashScopeProvider 'dashscope'"):
        wrong_provider.provider_spec("imgopen")
    wrong_kind = SpecRegistry.of([Fake("dashscope", DashScopeProvider, {Kind.FINE_TUNE: DashScopeDataset})])
    with pytest.raises(ValueError, match="DashScopeDataset is registered for FineTune"):
        wrong_kind.spec_model(Kind.FINE_TUNE, "dashscope")


def test_the_shipped_plugins_serve_what_they_declare() -> None:
    specs = installed_specs(SHIPPED_WITH)
    assert specs.provider_types() == ["dashscope", "imgopen", "wavespeed"]
    assert specs.served_kinds("imgopen") == {Kind.DATASET, Kind.FINE_TUNE}
    assert specs.providers_serving(Kind.DEPLOYMENT) == ["dashscope"]
    assert specs.providers_serving(Kind.SAMPLE) == ["dashscope", "wavespeed"]
