"""The local trainer's Provider spec (endpoint and the variable that holds its key)."""

from __future__ import annotations

from typing import ClassVar, Literal

from reconciler.models.connections import ProviderConfig


class LocalTrainerProvider(ProviderConfig):
    CREDENTIAL_FIELDS: ClassVar[dict[str, str]] = {"api_key": "api_key_env"}
    ENV_FIELDS: ClassVar[tuple[str, ...]] = ("api_key_env",)

    type: Literal["localtrainer"]
    api_key_env: str
