"""DashScope (Alibaba Cloud Model Studio): the HTTP client, its typed bodies and region table.

Names are imported on first use, so `dashscope.economics` (prices, quotas: what an offline plan
needs) loads without the HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.providers.dashscope.client import DashScopeClient
    from reconciler.providers.dashscope.regions import (
        REGION_BASE_URLS,
        region_base_url,
        resolve_endpoint,
        workspace_gateway_url,
    )
    from reconciler.providers.dashscope.types import (
        AigcConfig,
        Checkpoint,
        Deployment,
        DeploymentCreate,
        DeploymentPage,
        DeploymentStatus,
        ExportStatus,
        FileList,
        FileObject,
        FileStatus,
        FineTuneCreate,
        FineTuneJob,
        FineTuneLogs,
        FineTunePage,
        FineTuneStatus,
        ValidationDetail,
        ValidationDetailsPage,
    )

_LAZY = {
    "DashScopeClient": "reconciler.providers.dashscope.client",
    "REGION_BASE_URLS": "reconciler.providers.dashscope.regions",
    "region_base_url": "reconciler.providers.dashscope.regions",
    "resolve_endpoint": "reconciler.providers.dashscope.regions",
    "workspace_gateway_url": "reconciler.providers.dashscope.regions",
    "AigcConfig": "reconciler.providers.dashscope.types",
    "Checkpoint": "reconciler.providers.dashscope.types",
    "Deployment": "reconciler.providers.dashscope.types",
    "DeploymentCreate": "reconciler.providers.dashscope.types",
    "DeploymentPage": "reconciler.providers.dashscope.types",
    "DeploymentStatus": "reconciler.providers.dashscope.types",
    "ExportStatus": "reconciler.providers.dashscope.types",
    "FileList": "reconciler.providers.dashscope.types",
    "FileObject": "reconciler.providers.dashscope.types",
    "FileStatus": "reconciler.providers.dashscope.types",
    "FineTuneCreate": "reconciler.providers.dashscope.types",
    "FineTuneJob": "reconciler.providers.dashscope.types",
    "FineTuneLogs": "reconciler.providers.dashscope.types",
    "FineTunePage": "reconciler.providers.dashscope.types",
    "FineTuneStatus": "reconciler.providers.dashscope.types",
    "ValidationDetail": "reconciler.providers.dashscope.types",
    "ValidationDetailsPage": "reconciler.providers.dashscope.types",
}

__all__ = [
    "REGION_BASE_URLS",
    "AigcConfig",
    "Checkpoint",
    "DashScopeClient",
    "Deployment",
    "DeploymentCreate",
    "DeploymentPage",
    "DeploymentStatus",
    "ExportStatus",
    "FileList",
    "FileObject",
    "FileStatus",
    "FineTuneCreate",
    "FineTuneJob",
    "FineTuneLogs",
    "FineTunePage",
    "FineTuneStatus",
    "ValidationDetail",
    "ValidationDetailsPage",
    "region_base_url",
    "resolve_endpoint",
    "workspace_gateway_url",
]


def __getattr__(attr: str) -> Any:
    module = _LAZY.get(attr)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
    value = getattr(importlib.import_module(module), attr)
    globals()[attr] = value
    return value
