"""The local trainer's spec models: its Provider, a Dataset (image URLs) and a FineTune (a job).

The plugin names them (`plugin.py`), so manifests of `type: localtrainer` validate, plan and
apply with no line of core knowing this provider.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from reconciler.models.changes import CHANGE_CLASS_KEY, ChangeClass, change_class
from reconciler.models.connections import ENV_NAME_PATTERN, ProviderConfig
from reconciler.models.envelope import Name, StrictModel
from reconciler.models.kinds import Kind
from reconciler.models.specs import ResourceSpec

RETRAIN = ChangeClass.RETRAIN


class LocalTrainerProvider(ProviderConfig):
    """A local trainer account (one API key, sent as a bearer token)."""

    TYPE: ClassVar[str] = "localtrainer"
    CREDENTIAL_FIELDS: ClassVar[dict[str, str]] = {"api_key": "api_key_env"}
    ENV_FIELDS: ClassVar[tuple[str, ...]] = ("api_key_env",)

    type: Literal["localtrainer"] = Field(description="Provider type")
    api_key_env: str = Field(
        pattern=ENV_NAME_PATTERN, description="Name of the environment variable that holds the API key"
    )


class LocalTrainerDataset(ResourceSpec):
    """Images the trainer downloads, named by URL."""

    KIND: ClassVar[Kind] = Kind.DATASET
    PROVIDER_TYPE: ClassVar[str] = "localtrainer"

    provider: Name = change_class(RETRAIN, description="metadata.name of a Provider of type localtrainer")
    urls: list[str] = change_class(RETRAIN, description="Image URLs, at least one", min_length=1)


class LocalTrainerHyperParameters(StrictModel):
    learning_rate: float = change_class(RETRAIN, 0.001, description="Learning rate", gt=0, le=1)
    epochs: int = change_class(RETRAIN, 3, description="Training epochs", ge=1, le=100)


class LocalTrainerFineTune(ResourceSpec):
    """A training job on one Dataset."""

    KIND: ClassVar[Kind] = Kind.FINE_TUNE
    PROVIDER_TYPE: ClassVar[str] = "localtrainer"
    REFERENCES: ClassVar[dict[str, Kind]] = {"dataset": Kind.DATASET}

    provider: Name = change_class(RETRAIN, description="metadata.name of a Provider of type localtrainer")
    dataset: Name = change_class(RETRAIN, description="Name of the Dataset to train on")
    hyper_parameters: LocalTrainerHyperParameters = Field(
        default_factory=LocalTrainerHyperParameters,
        description="Training settings",
        json_schema_extra={CHANGE_CLASS_KEY: RETRAIN.value},
    )
