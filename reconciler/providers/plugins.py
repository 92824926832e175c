"""Providers are plugins: each registers one `ProviderPlugin` in the `reconciler.providers` entry-point group.

Why: the engine knows phases, never a provider (DESIGN.md §7). What it must ask of a provider it
asks the plugin for that provider type: the spec models of its Provider documents and of each kind
it serves (the loader, `validate` and `reconciler schema` take them from here), its pure facts
(`facts.ProviderFacts`, asked offline by the planner), how to build its adapter for one Provider
manifest, its sandbox emulator, and its row in the README's capability table. Nothing in core lists the providers; a package that declares

    [project.entry-points."reconciler.providers"]
    localtrainer = "my_package.plugin:PLUGIN"

is found the same way as the built-in three (README, "Writing a provider"). The entry point's name
is the provider type, so a run loads only the plugins of the types its manifests use.

Loading a plugin must stay cheap and offline: the adapter and the emulator are named as
"module:attribute" strings and imported only when a run needs them, so `plan --refresh=false`
loads a provider's facts and nothing of its HTTP client.
"""

from __future__ import annotations

import builtins
import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler import plugin_discovery
from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.kinds import Kind
from reconciler.plugin_discovery import ENTRY_POINT_GROUP
from reconciler.providers.facts import NoFacts, ProviderFacts

if TYPE_CHECKING:
    from reconciler.models.connections import ProviderConfig as ProviderSpecModel
    from reconciler.models.resources import ProviderConfig
    from reconciler.models.specs import ResourceSpec
    from reconciler.providers.economics import ProviderEconomics
    from reconciler.providers.interface import ProviderAdapter

__all__ = [
    "ENTRY_POINT_GROUP",
    "Connection",
    "ProviderPlugin",
    "facts_for",
    "installed",
    "plugin_for",
    "reset",
]


@dataclass(frozen=True)
class Connection:
    """What an adapter factory gets for one Provider manifest (built by `reconciler.wiring`).

    Secrets are read through `credential` and go into the client, nowhere else.
    """

    base_url: str  # the endpoint, or the in-process sandbox's base URL
    credential: Callable[[str], str] = field(repr=False)  # role -> its value (e.g. "api_key")
    # an httpx.BaseTransport (the sandbox, or a test's), or None for the network; typed loosely so
    # that the engine, which asks plugins for facts, never depends on httpx, even for type checking
    transport: Any = None
    clock: Clock = SYSTEM_CLOCK
    parallelism: int = 10
    # for optional, non-secret settings the manifest names (never shown: the environment holds secrets)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)


AdapterFactory = Callable[["ProviderConfig", Connection], "ProviderAdapter"]


@dataclass(frozen=True)
class ProviderPlugin:
    type: str  # the Provider manifest's spec.type, e.g. "dashscope"
    title: str  # how the README's table names it, e.g. "DashScope"
    # "module:Class" of its `kind: Provider` spec (a models.connections.ProviderConfig whose TYPE is `type`)
    provider_spec: str = ""
    # kind name -> "module:Class" of that kind's spec (a ResourceSpec); the kinds it serves
    spec_models: Mapping[str, str] = field(default_factory=dict)
    facts: ProviderFacts = field(default_factory=NoFacts)
    adapter: str = ""  # "module:function", an AdapterFactory
    adapter_class: str = ""  # "module:Class": its CAPABILITIES and no_delete_api, without a client
    emulator: str | None = None  # "module:Class" of its sandbox emulator (a ProviderEmulator)
    # "module:Class" of its ProviderEconomics (prices with their sources, quantities, quotas),
    # constructed with the Provider's endpoint; none: every price unknown, no quota
    economics: str | None = None
    # "module:attribute" of its local-dataset rules (a datasets.rules.DatasetRules: usages, layout
    # check, sample count), read by the loader and the hashing pass; none: no layout check
    dataset_rules: str | None = None

    def load_provider_spec(self) -> builtins.type[ProviderSpecModel]:
        model: builtins.type[ProviderSpecModel] = _attribute(self.provider_spec)
        return model

    def load_spec_models(self) -> Mapping[Kind, builtins.type[ResourceSpec]]:
        return {Kind(kind): _attribute(where) for kind, where in self.spec_models.items()}

    def build_adapter(self, config: ProviderConfig, connection: Connection) -> ProviderAdapter:
        factory: AdapterFactory = _attribute(self.adapter)
        return factory(config, connection)

    def load_adapter_class(self) -> builtins.type[Any]:
        cls: builtins.type[Any] = _attribute(self.adapter_class)
        return cls

    def capabilities(self) -> Mapping[str, str]:
        """Row label -> cell of the README's provider table (the adapter class's CAPABILITIES)."""
        rows: Mapping[str, str] = getattr(self.load_adapter_class(), "CAPABILITIES", {})
        return rows

    def load_economics(self, endpoint: str) -> ProviderEconomics | None:
        if not self.economics:
            return None
        model: ProviderEconomics = _attribute(self.economics)(endpoint)
        return model

    def new_emulator(self) -> Any:
        return _attribute(self.emulator)() if self.emulator else None


def _attribute(where: str) -> Any:
    module, _, name = where.partition(":")
    if not module or not name:
        raise ValueError(f"a plugin names its code as 'module:attribute' (got {where!r})")
    return getattr(importlib.import_module(module), name)


@functools.cache
def installed() -> dict[str, ProviderPlugin]:
    """Provider type -> plugin, for every distribution on the path that registers one."""
    return {
        name: _checked(plugin_discovery.loaded(name), name, point.value)
        for name, point in plugin_discovery.registered().items()
    }


@functools.cache
def plugin_for(provider_type: str) -> ProviderPlugin | None:
    """The plugin registered under the entry-point name `provider_type`; only that one is loaded."""
    point = plugin_discovery.registered().get(provider_type)
    if point is None:
        return None
    return _checked(plugin_discovery.loaded(provider_type), provider_type, point.value)


def _checked(plugin: object, name: str, value: str) -> ProviderPlugin:
    if not isinstance(plugin, ProviderPlugin):
        raise TypeError(
            f"entry point {name} = {value} in group {ENTRY_POINT_GROUP} "
            f"is a {type(plugin).__name__}, not a ProviderPlugin"
        )
    if plugin.type != name:
        raise ValueError(
            f"entry point {name} = {value} registers provider type {plugin.type!r}: the names must match"
        )
    return plugin


def reset() -> None:
    """Forget what was loaded (tests that put a plugin's distribution on sys.path call this)."""
    plugin_discovery.reset()
    installed.cache_clear()
    plugin_for.cache_clear()


def facts_for(provider_type: str) -> ProviderFacts:
    """The planner's question to a provider; a type nobody registered has nothing special to say."""
    plugin = plugin_for(provider_type)
    return plugin.facts if plugin is not None else NoFacts()
