"""`reconciler.yaml`, the project file at the root of a manifest repository (DESIGN.md §7).

It names the manifest paths, where the state lives and the environments, so that `-f` becomes
optional and `--env NAME` selects one environment. An environment changes the shared manifests
through *patches* only (RFC 7386 JSON merge patches keyed by kind and name, `loading/patching.py`):
one mechanism, and every value it sets has a file and line.

    manifests: [shared]
    state: .reconciler/{env}/state.db        # optional; this is the default with environments
    budget: $200                             # optional: plan/apply exit 3 above it (--max-cost overrides)
    notifications:
      webhook: {url_env: RECONCILER_WEBHOOK_URL}
    environments:
      dev:  {patches: [envs/dev/patches.yaml]}
      prod: {patches: [envs/prod/patches.yaml], state: postgresql://ci@db/reconciler, budget: $500}

Paths are relative to the project file. Pure data: the file is read in `loading/project_file.py`.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from reconciler.models.connections import ENV_NAME_PATTERN
from reconciler.models.costs import parse_budget
from reconciler.models.envelope import StrictModel

ENV_PLACEHOLDER = "{env}"
ENVIRONMENT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$"
DEFAULT_STATE = ".reconciler/state.db"
DEFAULT_ENV_STATE = ".reconciler/{env}/state.db"


class Webhook(StrictModel):
    """Where notifications are POSTed. The URL can hold a secret: name a variable with `url_env`."""

    url_env: str | None = Field(
        default=None,
        pattern=ENV_NAME_PATTERN,
        description="The NAME of an environment variable that holds the webhook URL (it may carry a token).",
    )
    url: str | None = Field(
        default=None, description="The webhook URL itself (prefer url_env: it may be a secret)."
    )
    timeout: float = Field(default=5.0, gt=0, le=60, description="Seconds per delivery attempt.")

    @model_validator(mode="after")
    def _one_source(self) -> Webhook:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url_env (the name of a variable holding the URL) or url")
        if self.url is not None and not re.match(r"^https?://", self.url):
            raise ValueError("url must start with http:// or https://")
        return self


class Notifications(StrictModel):
    webhook: Webhook | None = None


def _valid_budget(value: object) -> object:
    """A budget is an amount with an optional currency; a bare number (`budget: 50`) is one too."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        parse_budget(value)  # its ValueError says what an amount looks like
    return value


class Environment(StrictModel):
    patches: list[str] = Field(
        default_factory=list,
        description="Merge-patch files (RFC 7386, one document per resource, keyed by kind and metadata.name).",
    )
    manifests: list[str] = Field(
        default_factory=list, description="Extra manifest paths this environment adds to the project's."
    )
    budget: str | None = Field(
        default=None,
        description="This environment's budget (overrides the project's): plan and apply exit 3 above it.",
    )
    state: str | None = Field(
        default=None,
        description="This environment's state: a path (relative to the project file) or a postgresql:// URL.",
    )
    workspace: str | None = Field(
        default=None, description="PostgreSQL workspace (default: <project>/<env>)."
    )
    notifications: Notifications | None = None

    @field_validator("budget", mode="before")
    @classmethod
    def _budget(cls, value: object) -> object:
        return _valid_budget(value)


class ProjectSpec(StrictModel):
    manifests: list[str] = Field(
        min_length=1, description="Manifest files or directories, relative to this file."
    )
    state: str | None = Field(
        default=None,
        description="The state: a path ('{env}' is replaced by the environment's name) or a postgresql:// URL. "
        f"Default: {DEFAULT_STATE}, or {DEFAULT_ENV_STATE} per environment.",
    )
    workspace: str | None = Field(
        default=None, description="PostgreSQL workspace (default: derived from the project)."
    )
    notifications: Notifications | None = None
    budget: str | None = Field(
        default=None,
        description="The most a plan may cost, e.g. 50, '$50' or '180 CNY': plan and apply refuse a plan whose "
        "known estimated cost is above it (exit 3), as --max-cost does; --max-cost overrides it.",
    )
    environments: dict[str, Environment] = Field(default_factory=dict)

    @field_validator("budget", mode="before")
    @classmethod
    def _budget(cls, value: object) -> object:
        return _valid_budget(value)

    @field_validator("environments")
    @classmethod
    def _environment_names(cls, value: dict[str, Environment]) -> dict[str, Environment]:
        for name in value:
            if not re.match(ENVIRONMENT_NAME_PATTERN, name):
                raise ValueError(
                    f"environment name {name!r} must be lower-case letters, digits, '-' and '_', "
                    "starting and ending with a letter or digit"
                )
        return value


__all__ = [
    "DEFAULT_ENV_STATE",
    "DEFAULT_STATE",
    "ENV_PLACEHOLDER",
    "Environment",
    "Notifications",
    "ProjectSpec",
    "Webhook",
]
