"""The local trainer's registration: the entry point in `../reconciler_localtrainer-0.1.dist-info`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from localtrainer.facts import LOCALTRAINER_FACTS
from reconciler.providers.plugins import Connection, ProviderPlugin

if TYPE_CHECKING:
    from reconciler.models.resources import ProviderConfig
    from reconciler.providers.interface import ProviderAdapter


def build_adapter(config: ProviderConfig, connection: Connection) -> ProviderAdapter:
    from localtrainer.adapter import LocalTrainerAdapter
    from localtrainer.client import LocalTrainerClient

    client = LocalTrainerClient(
        connection.base_url,
        connection.credential("api_key"),
        transport=connection.transport,
        clock=connection.clock,
    )
    return LocalTrainerAdapter(config.name, client)


PLUGIN = ProviderPlugin(
    type="localtrainer",
    title="Local trainer (test only)",
    facts=LOCALTRAINER_FACTS,
    adapter="localtrainer.plugin:build_adapter",
    adapter_class="localtrainer.adapter:LocalTrainerAdapter",
    emulator="localtrainer.emulator:LocalTrainerEmulator",
)
