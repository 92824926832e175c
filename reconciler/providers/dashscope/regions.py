"""DashScope host roots per region (providers.md §1.1).

A Provider's `endpoint` may name a region instead of a URL; this is the one table that turns it
into a host root. Paths (`/api/v1`, `/compatible-mode/v1`) are the client's business, not this
module's. API keys are region-bound: a Beijing key fails on the international host.
"""

from __future__ import annotations

import re

from reconciler.providers.errors import ConfigurationError

REGION_BASE_URLS: dict[str, str] = {
    "cn-beijing": "https://dashscope.aliyuncs.com",
    "ap-southeast-1": "https://dashscope-intl.aliyuncs.com",
    "cn-hongkong": "https://cn-hongkong.dashscope.aliyuncs.com",
}

REGION_ALIASES: dict[str, str] = {
    "beijing": "cn-beijing",
    "cn": "cn-beijing",
    "china": "cn-beijing",
    "intl": "ap-southeast-1",
    "international": "ap-southeast-1",
    "singapore": "ap-southeast-1",
    "hongkong": "cn-hongkong",
    "hong-kong": "cn-hongkong",
}

NATIVE_API_PATH = "/api/v1"
COMPATIBLE_API_PATH = "/compatible-mode/v1"

_WORKSPACE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def region_base_url(region: str) -> str:
    """Host root for a region id (`ap-southeast-1`) or alias (`intl`)."""
    key = REGION_ALIASES.get(region.strip().lower(), region.strip().lower())
    try:
        return REGION_BASE_URLS[key]
    except KeyError:
        known = ", ".join(sorted(REGION_BASE_URLS) + sorted(REGION_ALIASES))
        raise ConfigurationError(f"unknown DashScope region {region!r}; known: {known}") from None


def workspace_gateway_url(workspace_id: str, region: str) -> str:
    """The newer workspace-scoped gateway `https://{workspace_id}.{region}.maas.aliyuncs.com`."""
    key = REGION_ALIASES.get(region.strip().lower(), region.strip().lower())
    if key not in REGION_BASE_URLS:
        region_base_url(region)  # raises the explanatory error
    if not _WORKSPACE_ID.match(workspace_id):
        raise ConfigurationError(
            f"invalid DashScope workspace id {workspace_id!r} (expected e.g. 'llm-abc123')"
        )
    return f"https://{workspace_id}.{key}.maas.aliyuncs.com"


def resolve_endpoint(endpoint: str) -> str:
    """A Provider `endpoint`: a URL is returned unchanged, a region name becomes its host root."""
    if "://" in endpoint:
        return endpoint
    return region_base_url(endpoint)


__all__ = [
    "COMPATIBLE_API_PATH",
    "NATIVE_API_PATH",
    "REGION_ALIASES",
    "REGION_BASE_URLS",
    "region_base_url",
    "resolve_endpoint",
    "workspace_gateway_url",
]
