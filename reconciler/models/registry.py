"""Which spec model validates which (kind, provider type), and each provider type's Provider spec.

Why a value and not a table: core lists no provider. Each provider plugin brings its own spec
models (`reconciler.providers.plugins.ProviderPlugin`); a loading-level module finds the installed
plugins (`reconciler.loading.spec_registry`) and builds one `SpecRegistry` from them. This module
only defines the shape, so the models stay free of entry points and of any I/O.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, runtime_checkable

from reconciler.models.connections import ProviderConfig
from reconciler.models.kinds import Kind
from reconciler.models.specs import ResourceSpec


@runtime_checkable
class ProviderSpecs(Protocol):
    """What a provider plugin says about its manifests: its type name and its spec models."""

    @property
    def type(self) -> str: ...

    # `builtins.type`: inside this class `type` is the property above
    def load_provider_spec(self) -> builtins.type[ProviderConfig]: ...

    def load_spec_models(self) -> Mapping[Kind, builtins.type[ResourceSpec]]: ...


class SpecRegistry:
    """The installed provider types, and their spec models loaded on first use.

    `types`: every provider type, sorted (cheap: entry-point names); `load(type)`: that type's
    plugin, imported only when a manifest uses the type (or an error must list who serves a kind).
    """

    def __init__(self, types: Iterable[str], load: Callable[[str], ProviderSpecs]) -> None:
        self._types = sorted(types)
        self._load = load
        self._providers: dict[str, type[ProviderConfig]] = {}
        self._resources: dict[str, dict[Kind, type[ResourceSpec]]] = {}

    @classmethod
    def of(cls, plugins: Iterable[ProviderSpecs]) -> SpecRegistry:
        """A registry of plugins already at hand (tests, tools)."""
        by_type = {p.type: p for p in plugins}
        return cls(by_type, by_type.__getitem__)

    def provider_types(self) -> list[str]:
        return list(self._types)

    def provider_spec(self, provider_type: str) -> type[ProviderConfig] | None:
        return self._providers[provider_type] if self._loaded(provider_type) else None

    def spec_model(self, kind: Kind, provider_type: str) -> type[ResourceSpec] | None:
        return self._resources[provider_type].get(kind) if self._loaded(provider_type) else None

    def served_kinds(self, provider_type: str) -> frozenset[Kind]:
        return frozenset(self._resources[provider_type]) if self._loaded(provider_type) else frozenset()

    def providers_serving(self, kind: Kind) -> list[str]:
        return [t for t in self._types if self.spec_model(kind, t) is not None]

    def resources(self) -> dict[tuple[Kind, str], type[ResourceSpec]]:
        """(kind, provider type) -> spec model, for every installed type (loads them all)."""
        return {(k, t): m for t in self._types if self._loaded(t) for k, m in self._resources[t].items()}

    def variants(self, kind: Kind) -> list[type[ProviderConfig]] | list[type[ResourceSpec]]:
        """The spec models of `kind`, in provider-type order (a Provider's, or a resource kind's)."""
        if kind is Kind.PROVIDER:
            return [self._providers[t] for t in self._types if self._loaded(t)]
        return [m for t in self._types if (m := self.spec_model(kind, t)) is not None]

    def _loaded(self, provider_type: str) -> bool:
        if provider_type in self._providers:
            return True
        if provider_type not in self._types:
            return False
        plugin = self._load(provider_type)
        provider_spec = plugin.load_provider_spec()
        if plugin.type != provider_type or provider_type != provider_spec.TYPE:
            raise ValueError(
                f"provider type {provider_type!r}: its plugin says {plugin.type!r}, its Provider spec "
                f"{provider_spec.__name__} {provider_spec.TYPE!r}; the three must match"
            )
        models = dict(plugin.load_spec_models())
        for kind, model in models.items():
            if kind != model.KIND or provider_type != model.PROVIDER_TYPE:
                raise ValueError(
                    f"provider type {provider_type!r}: {model.__name__} is registered for {kind} "
                    f"but declares {model.KIND} of {model.PROVIDER_TYPE!r}"
                )
        self._providers[provider_type] = provider_spec
        self._resources[provider_type] = models
        return True
