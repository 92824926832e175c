"""Kinds, provider types, addresses and which provider serves which kind (DESIGN.md §2)."""

from __future__ import annotations

from enum import StrEnum

API_VERSION = "reconciler/v1"

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
NAME_MAX_LENGTH = 63


class Kind(StrEnum):
    PROVIDER = "Provider"
    DATASET = "Dataset"
    FINE_TUNE = "FineTune"
    CHECKPOINT_EXPORT = "CheckpointExport"
    DEPLOYMENT = "Deployment"
    SAMPLE = "Sample"  # a render with a FineTune's LoRA


class ProviderType(StrEnum):
    DASHSCOPE = "dashscope"
    WAVESPEED = "wavespeed"
    IMGOPEN = "imgopen"


# Which resource kinds each provider type can serve. A kind a provider cannot serve is a
# validation error that names the provider types that can.
SERVED_KINDS: dict[ProviderType, frozenset[Kind]] = {
    ProviderType.DASHSCOPE: frozenset(
        {Kind.DATASET, Kind.FINE_TUNE, Kind.CHECKPOINT_EXPORT, Kind.DEPLOYMENT, Kind.SAMPLE}
    ),
    ProviderType.WAVESPEED: frozenset({Kind.DATASET, Kind.FINE_TUNE, Kind.SAMPLE}),
    ProviderType.IMGOPEN: frozenset({Kind.DATASET, Kind.FINE_TUNE}),
}


def providers_serving(kind: Kind) -> list[ProviderType]:
    return [p for p, kinds in SERVED_KINDS.items() if kind in kinds]


def address(kind: Kind | str, name: str) -> str:
    return f"{kind}/{name}"


def parse_address(value: str) -> tuple[Kind, str]:
    """'FineTune/money-rain' -> (Kind.FINE_TUNE, 'money-rain'); ValueError with a usable message otherwise."""
    kind_text, sep, name = value.partition("/")
    if not sep or not name:
        raise ValueError(f"address must look like Kind/name (got {value!r})")
    try:
        kind = Kind(kind_text)
    except ValueError:
        kinds = ", ".join(k.value for k in Kind)
        raise ValueError(
            f"unknown kind {kind_text!r} in address {value!r}; expected one of: {kinds}"
        ) from None
    return kind, name
