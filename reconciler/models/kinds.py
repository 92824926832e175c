"""Kinds and addresses (DESIGN.md §2). Which provider types exist and serve which kind: `registry`."""

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


class ProviderType(str):
    """A Provider manifest's spec.type, e.g. "dashscope": the name its plugin registers under (the
    `reconciler.providers` entry-point group). Core lists none: `SpecRegistry` knows the installed
    ones. `.value` is the name itself, as it was of the enum this replaced (callers keep working)."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return str.__str__(self)


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
