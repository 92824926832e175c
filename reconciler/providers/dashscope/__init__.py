"""DashScope (Alibaba Cloud Model Studio): the HTTP client, its typed bodies and region table."""

from __future__ import annotations

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
