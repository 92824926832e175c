"""What every Provider spec shares: an endpoint and the *names* of credential variables.

A Provider manifest says where to connect (`sandbox`, an `https://` URL, or `http://` on a
loopback host for `reconciler sandbox serve`) and which environment variables hold its
credentials. A credential value written into the manifest is refused, and the refusal never
repeats the value: the message says to put it in an environment variable and name it in the
matching `*_env` field.

This module does not read the environment; providers resolve the names when they connect.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, ModelWrapValidatorHandler, ValidationError, model_validator

from reconciler.models.costs import PriceOverride, QuotaOverride
from reconciler.models.faults import SandboxOptions
from reconciler.models.rule_errors import REDACTED, RuleError, raise_combined, raise_rule_errors
from reconciler.models.specs import ProviderSpec

SANDBOX = "sandbox"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ENV_NAME_RE = re.compile(ENV_NAME_PATTERN)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# Keys that hold a secret when written inline (compared after camelCase → snake_case).
_CREDENTIAL_KEY_RE = re.compile(
    r"^(?:.*_)?(?:api_?key|apikey|key|token|secret|password|passwd|credentials?|bearer|authorization|"
    r"access_key(?:_id|_secret)?|secret_key|secret_access_key|access_token|auth)$"
)
# A value that is a credential rather than a variable name: an API-key prefix, or a long run of
# lower-case letters mixed with digits (environment variable names are rarely like that).
_SECRET_VALUE_RE = re.compile(r"^(?:sk|ak|pk|whsec)[-_]", re.IGNORECASE)
_RANDOM_RUN_RE = re.compile(r"[A-Za-z0-9]{16,}")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()


def is_credential_key(key: str) -> bool:
    """True for keys like `api_key`, `accessKeySecret`, `token` (but not `api_key_env`)."""
    snake = _snake(key)
    return not snake.endswith("_env") and bool(_CREDENTIAL_KEY_RE.match(snake))


def looks_like_secret(value: str) -> bool:
    if _SECRET_VALUE_RE.match(value):
        return True
    return any(
        any(c.islower() for c in run) and any(c.isdigit() for c in run)
        for run in _RANDOM_RUN_RE.findall(value)
    )


def env_name_error(field: str, value: Any) -> str | None:
    """Why `value` is not a usable environment variable name for `field` (never echoing it)."""
    if not isinstance(value, str):
        return "must be the name of an environment variable (a string)"
    if not value:
        return "must be the name of an environment variable, not empty"
    if looks_like_secret(value) or not _ENV_NAME_RE.match(value):
        return (
            "must name an environment variable (letters, digits and _, not starting with a digit), "
            f"not hold the credential itself: put the secret in an environment variable and name it in {field}"
        )
    return None


def endpoint_error(value: str, *, extra_hint: str = "") -> str | None:
    """Why `value` is not `sandbox`, an https URL, or an http URL on a loopback host."""
    if value == SANDBOX:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    allowed = f"must be 'sandbox', an https:// URL or http:// on localhost{extra_hint}"
    if parts is None or parts.scheme not in ("http", "https") or not host:
        return allowed
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        return f"http:// is only allowed for localhost, 127.0.0.1 or ::1; use https:// for {host}"
    if parts.username or parts.password:
        return "must not contain credentials; name the environment variable that holds them instead"
    if parts.query or parts.fragment:
        return "must not contain a query or fragment"
    return None


class ProviderConfig(ProviderSpec):
    """Base of the concrete Provider specs: endpoint, credential env names, sandbox options."""

    model_config = ConfigDict(hide_input_in_errors=True)

    # credential role -> the field that names its environment variable
    CREDENTIAL_FIELDS: ClassVar[dict[str, str]] = {}
    # every field that holds an environment variable name (credentials and optional extras)
    ENV_FIELDS: ClassVar[tuple[str, ...]] = ()

    endpoint: str
    sandbox: SandboxOptions | None = Field(
        None,
        description="Sandbox emulator options (time scale, injected faults); only with endpoint: sandbox",
    )
    pricing: dict[str, PriceOverride] = Field(
        default_factory=dict,
        description=(
            "Prices that override the built-in table and the provider's pricing endpoint, keyed by model id "
            "(e.g. wan2.5-i2v-preview, wan-2.2-image-lora-trainer) or by kind (Dataset, FineTune, "
            "CheckpointExport, Deployment)"
        ),
    )
    quota: QuotaOverride | None = Field(
        None,
        description="The account's job limits when they differ from the documented ones (e.g. a raised quota)",
    )

    def credential_envs(self) -> dict[str, str]:
        envs = {}
        for role, field in self.CREDENTIAL_FIELDS.items():
            value = getattr(self, field)
            if value:
                envs[role] = value
        return envs

    @classmethod
    def _env_field_for(cls, key: str) -> str:
        snake = _snake(key)
        for role, field in cls.CREDENTIAL_FIELDS.items():
            if snake == role or snake.endswith("_" + role) or role.endswith("_" + snake):
                return field
        return " or ".join(f for r, f in cls.CREDENTIAL_FIELDS.items() if r != "workspace")

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_inline_credentials(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """Report inline secrets at their field, never echoing them, along with every other error."""
        if not isinstance(data, dict):
            return handler(data)
        errors: list[RuleError] = []
        clean = dict(data)
        for key in data:
            if isinstance(key, str) and key not in cls.model_fields and is_credential_key(key):
                del clean[key]
                errors.append(
                    RuleError(
                        (key,),
                        "a credential must not be written into a manifest: put it in an environment "
                        f"variable and name it in {cls._env_field_for(key)}",
                        REDACTED,
                    )
                )
        for field in cls.ENV_FIELDS:
            if data.get(field) is not None:
                problem = env_name_error(field, data[field])
                if problem is not None:
                    del clean[field]
                    errors.append(RuleError((field,), problem, REDACTED))
        try:
            validated = handler(clean)
        except ValidationError as caught:
            raise_combined(cls.__name__, caught, errors)
            raise
        raise_rule_errors(cls.__name__, errors)
        return validated

    @model_validator(mode="after")
    def _sandbox_options_need_sandbox(self) -> ProviderConfig:
        if self.sandbox is not None and self.endpoint != SANDBOX:
            raise_rule_errors(
                type(self).__name__,
                [RuleError(("sandbox",), "is only allowed when endpoint is 'sandbox'")],
            )
        return self
