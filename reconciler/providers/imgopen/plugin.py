"""ImgOpen's registration (entry point `reconciler.providers: imgopen`): cheap to load, no client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.providers.imgopen.facts import IMGOPEN_FACTS
from reconciler.providers.plugins import Connection, ProviderPlugin

if TYPE_CHECKING:
    from reconciler.models.resources import ProviderConfig
    from reconciler.providers.interface import ProviderAdapter


def build_adapter(config: ProviderConfig, connection: Connection) -> ProviderAdapter:
    from reconciler.providers.imgopen.adapter import ImgOpenAdapter
    from reconciler.providers.imgopen.client import ImgOpenClient

    client = ImgOpenClient(
        connection.base_url,
        connection.credential("access_key_id"),
        connection.credential("access_key_secret"),
        transport=connection.transport,
        clock=connection.clock,
    )
    return ImgOpenAdapter(config.name, client, clock=connection.clock, parallelism=connection.parallelism)


PLUGIN = ProviderPlugin(
    type="imgopen",
    title="ImgOpen",
    facts=IMGOPEN_FACTS,
    adapter="reconciler.providers.imgopen.plugin:build_adapter",
    adapter_class="reconciler.providers.imgopen.adapter:ImgOpenAdapter",
    emulator="reconciler.sandbox.imgopen:ImgOpenEmulator",
    economics="reconciler.providers.imgopen.economics:ImgOpenEconomics",
)
