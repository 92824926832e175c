"""DashScope's registration (entry point `reconciler.providers: dashscope`): cheap to load, no client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.providers.dashscope.facts import DASHSCOPE_FACTS
from reconciler.providers.plugins import Connection, ProviderPlugin

if TYPE_CHECKING:
    from reconciler.models.resources import ProviderConfig
    from reconciler.providers.interface import ProviderAdapter


def build_adapter(config: ProviderConfig, connection: Connection) -> ProviderAdapter:
    from reconciler.providers.dashscope.adapter import DashScopeAdapter
    from reconciler.providers.dashscope.client import DashScopeClient

    spec: Any = config.spec
    workspace_env = getattr(spec, "workspace_env", None)
    client = DashScopeClient(
        connection.base_url,
        connection.credential("api_key"),
        workspace=connection.env.get(workspace_env) if workspace_env else None,
        transport=connection.transport,
        clock=connection.clock,
    )
    return DashScopeAdapter(config.name, client, clock=connection.clock, parallelism=connection.parallelism)


PLUGIN = ProviderPlugin(
    type="dashscope",
    title="DashScope",
    provider_spec="reconciler.models.dashscope:DashScopeProvider",
    spec_models={
        "Dataset": "reconciler.models.dashscope:DashScopeDataset",
        "FineTune": "reconciler.models.dashscope:DashScopeFineTune",
        "CheckpointExport": "reconciler.models.dashscope:DashScopeCheckpointExport",
        "Deployment": "reconciler.models.dashscope:DashScopeDeployment",
        "Sample": "reconciler.models.dashscope_samples:DashScopeSample",
    },
    facts=DASHSCOPE_FACTS,
    adapter="reconciler.providers.dashscope.plugin:build_adapter",
    adapter_class="reconciler.providers.dashscope.adapter:DashScopeAdapter",
    emulator="reconciler.sandbox.dashscope:DashScopeEmulator",
    economics="reconciler.providers.dashscope.economics:DashScopeEconomics",
    dataset_rules="reconciler.datasets.dashscope_layout:RULES",
)
