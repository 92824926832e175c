"""WaveSpeed's registration (entry point `reconciler.providers: wavespeed`): cheap to load, no client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.providers.plugins import Connection, ProviderPlugin
from reconciler.providers.wavespeed.facts import WAVESPEED_FACTS

if TYPE_CHECKING:
    from reconciler.models.resources import ProviderConfig
    from reconciler.providers.interface import ProviderAdapter


def build_adapter(config: ProviderConfig, connection: Connection) -> ProviderAdapter:
    from reconciler.providers.wavespeed.adapter import WaveSpeedAdapter
    from reconciler.providers.wavespeed.client import WaveSpeedClient

    client = WaveSpeedClient(
        connection.base_url,
        connection.credential("api_key"),
        transport=connection.transport,
        clock=connection.clock,
    )
    return WaveSpeedAdapter(config.name, client, clock=connection.clock, parallelism=connection.parallelism)


PLUGIN = ProviderPlugin(
    type="wavespeed",
    title="WaveSpeed",
    provider_spec="reconciler.models.wavespeed:WaveSpeedProvider",
    spec_models={
        "Dataset": "reconciler.models.wavespeed:WaveSpeedDataset",
        "FineTune": "reconciler.models.wavespeed:WaveSpeedFineTune",
        "Sample": "reconciler.models.wavespeed_samples:WaveSpeedSample",
    },
    facts=WAVESPEED_FACTS,
    adapter="reconciler.providers.wavespeed.plugin:build_adapter",
    adapter_class="reconciler.providers.wavespeed.adapter:WaveSpeedAdapter",
    emulator="reconciler.sandbox.wavespeed:WaveSpeedEmulator",
    economics="reconciler.providers.wavespeed.economics:WaveSpeedEconomics",
    dataset_rules="reconciler.datasets.wavespeed_layout:RULES",
)
