"""The one place concrete providers, the sandbox, the state store and credentials are put together.

`build_adapters` turns the Provider manifests into configured `ProviderAdapter`s: it reads the
environment variables the manifests name (and nothing else), picks the real HTTP transport or
the in-process sandbox transport, and hands each adapter its client. Secrets stop here: they go
into the clients and nowhere else.

`open_store` picks the state store for a location: a SQLite file, or a PostgreSQL workspace. The
PostgreSQL store (and psycopg) is imported only then, so a SQLite user never loads it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.kinds import SERVED_KINDS, Kind, ProviderType, providers_serving

if TYPE_CHECKING:  # a provider's package (and httpx) is imported only when a manifest uses it
    import httpx

    from reconciler.models.resources import ProviderConfig
    from reconciler.providers.interface import ProviderAdapter
    from reconciler.sandbox import Sandbox
    from reconciler.state.interface import StateStore
    from reconciler.state.locations import StateLocation

SANDBOX_PLACEHOLDER_KEY = "sandbox-key"  # the sandbox accepts any non-empty key
SANDBOX_BASE_URL = "http://127.0.0.1"  # never dialled: the in-process transport answers


class ConfigError(Exception):
    """A Provider cannot be used as configured (e.g. its credential variable is unset)."""


@dataclass
class WiringContext:
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Clock = SYSTEM_CLOCK
    sandbox_db: Path | None = None  # default: .reconciler/sandbox.db beside the state file
    sandbox: Sandbox | None = None  # an existing emulator to use (tests, benchmarks)
    parallelism: int = 10
    transports: dict[str, httpx.BaseTransport] = field(default_factory=dict)  # provider name -> override
    sandbox_time_scale: float | None = None  # from a Provider manifest's spec.sandbox.time_scale

    def sandbox_instance(self) -> Sandbox:
        if self.sandbox is None:
            from reconciler.sandbox import Sandbox  # the emulator is only loaded when a manifest asks for it

            try:
                self.sandbox = Sandbox(
                    db_path=self.sandbox_db, clock=self.clock, time_scale=self.sandbox_time_scale
                )
            except (sqlite3.Error, OSError) as e:
                raise ConfigError(_sandbox_unusable(self.sandbox_db, e)) from e
        return self.sandbox


def _sandbox_unusable(db: Path | None, error: Exception) -> str:
    """The emulated providers keep their objects in `db`: talking to them (even for a plan) writes it."""
    where = db.parent if db is not None else Path(".")
    while not where.exists() and where != where.parent:
        where = where.parent  # the directory that must become writable to create the rest
    why = getattr(error, "strerror", None) or str(error)
    if not where.is_dir():
        return (
            f"the sandbox database {db} cannot be created ({why}): {where} is a file, not a directory; "
            "keep the state (and the sandbox beside it) elsewhere with --state PATH"
        )
    return (
        f"the sandbox database {db} cannot be written ({why}); the embedded sandbox keeps the emulated "
        f"providers' objects there, so any command that calls them writes it: make {where} writable "
        "(until then, only commands that read the cached state work: 'plan --refresh=false', 'state list', "
        "'output')"
    )


def credential(config: ProviderConfig, role: str, ctx: WiringContext) -> str:
    env_name = config.spec.credential_envs().get(role)
    value = ctx.env.get(env_name) if env_name else None
    if value:
        return value
    if config.spec.is_sandbox:
        return SANDBOX_PLACEHOLDER_KEY
    where = f"{config.location}: " if config.location else ""
    field_name = config.spec.CREDENTIAL_FIELDS.get(role, f"{role}_env")
    raise ConfigError(
        f"{where}Provider/{config.name}: spec.{field_name}: environment variable {env_name} is not set; "
        f"export it (the {role.replace('_', ' ')} for this {config.type.value} account) and run again"
    )


def _transport(config: ProviderConfig, ctx: WiringContext) -> httpx.BaseTransport | None:
    if config.name in ctx.transports:
        return ctx.transports[config.name]
    if config.spec.is_sandbox:
        options = config.spec.sandbox
        faults = (
            options.faults
            if options is not None
            and options.faults.rules
            or (options is not None and options.faults.fail_jobs)
            else None
        )
        fidelity = options.fidelity if options is not None else None
        return ctx.sandbox_instance().transport(faults=faults, fidelity=fidelity)
    return None


def _dashscope(config: ProviderConfig, ctx: WiringContext) -> ProviderAdapter:
    from reconciler.providers.dashscope.adapter import DashScopeAdapter
    from reconciler.providers.dashscope.client import DashScopeClient

    spec: Any = config.spec
    base = SANDBOX_BASE_URL if spec.is_sandbox else spec.base_url
    workspace_env = getattr(spec, "workspace_env", None)
    client = DashScopeClient(
        base,
        credential(config, "api_key", ctx),
        workspace=ctx.env.get(workspace_env) if workspace_env else None,
        transport=_transport(config, ctx),
        clock=ctx.clock,
    )
    return DashScopeAdapter(config.name, client, clock=ctx.clock, parallelism=ctx.parallelism)


def _wavespeed(config: ProviderConfig, ctx: WiringContext) -> ProviderAdapter:
    from reconciler.providers.wavespeed import WaveSpeedAdapter, WaveSpeedClient

    spec: Any = config.spec
    base = SANDBOX_BASE_URL if spec.is_sandbox else spec.endpoint
    client = WaveSpeedClient(
        base, credential(config, "api_key", ctx), transport=_transport(config, ctx), clock=ctx.clock
    )
    return WaveSpeedAdapter(config.name, client, clock=ctx.clock, parallelism=ctx.parallelism)


def _imgopen(config: ProviderConfig, ctx: WiringContext) -> ProviderAdapter:
    from reconciler.providers.imgopen import ImgOpenAdapter, ImgOpenClient

    spec: Any = config.spec
    base = SANDBOX_BASE_URL if spec.is_sandbox else spec.endpoint
    client = ImgOpenClient(
        base,
        credential(config, "access_key_id", ctx),
        credential(config, "access_key_secret", ctx),
        transport=_transport(config, ctx),
        clock=ctx.clock,
    )
    return ImgOpenAdapter(config.name, client, clock=ctx.clock, parallelism=ctx.parallelism)


AdapterFactory = Callable[["ProviderConfig", WiringContext], "ProviderAdapter"]

ADAPTER_FACTORIES: dict[ProviderType, AdapterFactory] = {
    ProviderType.DASHSCOPE: _dashscope,
    ProviderType.WAVESPEED: _wavespeed,
    ProviderType.IMGOPEN: _imgopen,
}


def adapter_classes() -> dict[ProviderType, type]:
    from reconciler.providers.dashscope.adapter import DashScopeAdapter
    from reconciler.providers.imgopen import ImgOpenAdapter
    from reconciler.providers.wavespeed import WaveSpeedAdapter

    return {
        ProviderType.DASHSCOPE: DashScopeAdapter,
        ProviderType.WAVESPEED: WaveSpeedAdapter,
        ProviderType.IMGOPEN: ImgOpenAdapter,
    }


def __getattr__(name: str) -> Any:
    if name == "ADAPTER_CLASSES":  # kept for callers that read the table; it imports every provider
        return adapter_classes()
    raise AttributeError(f"module 'reconciler.wiring' has no attribute {name!r}")


CAPABILITY_ROWS = (
    "Dataset",
    "FineTune",
    "CheckpointExport",
    "Deployment",
    "Refresh",
    "Found again without state by",
    "Ambiguous create",
    "Cancel a running job",
    "Delete",
    "Outputs",
)
_TITLES = {
    ProviderType.DASHSCOPE: "DashScope",
    ProviderType.WAVESPEED: "WaveSpeed",
    ProviderType.IMGOPEN: "ImgOpen",
}


def capability_table() -> str:
    """The README's provider table, generated from each adapter's CAPABILITIES and SERVED_KINDS."""
    classes = adapter_classes()
    types = [t for t in ProviderType if t in classes]
    lines = ["| | " + " | ".join(_TITLES[t] for t in types) + " |", "|---" * (len(types) + 1) + "|"]
    for row in CAPABILITY_ROWS:
        cells = []
        for t in types:
            capabilities: Mapping[str, str] = getattr(classes[t], "CAPABILITIES", {})
            text = capabilities.get(row)
            if row in {k.value for k in Kind} and Kind(row) not in SERVED_KINDS[t]:
                text = (
                    "— (validation error: use "
                    + ", ".join(p.value for p in providers_serving(Kind(row)))
                    + ")"
                )
            cells.append(text or "—")
        lines.append(f"| **{row}** | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def undeletable_kinds(providers: Mapping[str, ProviderConfig]) -> dict[str, dict[str, str]]:
    """Provider name -> kind -> why its API cannot delete it: data for the planner, asked of the adapter
    classes so that no client or sandbox is started (`plan --refresh=false` stays offline)."""
    from reconciler.providers.deletion import no_delete_api

    out: dict[str, dict[str, str]] = {}
    for name, config in providers.items():
        reasons = {k.value: why for k in Kind if (why := no_delete_api(config.type.value, k.value))}
        if reasons:
            out[name] = reasons
    return out


def build_adapters(providers: Mapping[str, ProviderConfig], ctx: WiringContext) -> dict[str, ProviderAdapter]:
    adapters: dict[str, ProviderAdapter] = {}
    # All sandbox providers of a run share one emulator (one database); the first time scale set wins.
    scales = [
        c.spec.sandbox.time_scale
        for c in providers.values()
        if c.spec.is_sandbox and c.spec.sandbox is not None and c.spec.sandbox.time_scale
    ]
    if scales and ctx.sandbox_time_scale is None:
        ctx.sandbox_time_scale = scales[0]
    for name, config in providers.items():
        factory = ADAPTER_FACTORIES.get(config.type)
        if factory is None:
            raise ConfigError(f"Provider/{name}: provider type {config.type.value} is not supported yet")
        adapters[name] = factory(config, ctx)
    return adapters


POSTGRES_EXTRA_HINT = "pip install 'reconciler[postgres]'"


def open_store(
    location: StateLocation, *, readonly: bool, clock: Clock = SYSTEM_CLOCK, create: bool = True
) -> StateStore:
    from reconciler.state.interface import StateError
    from reconciler.state.sqlite import SqliteStateStore

    """The state store at `location` (see `reconciler.state.locations.state_location`)."""
    if location.url is None:
        assert location.path is not None
        return SqliteStateStore.open(location.path, readonly=readonly, clock=clock, create=create)
    try:
        from reconciler.state.postgres import PostgresStateStore
    except ImportError as error:  # psycopg itself, or its libpq, is missing
        raise StateError(
            f"--state {location.display}: the PostgreSQL driver cannot be loaded ({error}); "
            f"install it with {POSTGRES_EXTRA_HINT}"
        ) from error
    assert location.workspace is not None
    return PostgresStateStore.open(
        location.url, workspace=location.workspace, readonly=readonly, clock=clock, create=create
    )


@contextlib.contextmanager
def holding_lock(
    location: StateLocation, operation: str, *, timeout: float = 0.0, clock: Clock = SYSTEM_CLOCK
) -> Iterator[None]:
    """Hold a state's apply lock without opening it for writing (`state migrate` reads its source
    read-only, so a SQLite source file is left byte for byte as it was)."""
    from reconciler.state.locking import FileApplyLock

    if location.path is not None:
        lock = FileApplyLock(Path(f"{location.path}.lock"), clock)
        lock.acquire(operation, timeout)
        try:
            yield
        finally:
            lock.release()
        return
    store = open_store(location, readonly=False, clock=clock, create=False)
    try:
        with store.lock(operation, timeout=timeout):
            yield
    finally:
        store.close()
