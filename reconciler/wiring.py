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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.kinds import Kind

if TYPE_CHECKING:  # a provider's package (and httpx) is imported only when a manifest uses it
    import httpx

    from reconciler.models.resources import ProviderConfig
    from reconciler.providers.economics import Economics, ProviderEconomics
    from reconciler.providers.interface import ProviderAdapter
    from reconciler.providers.plugins import Connection
    from reconciler.sandbox import Sandbox
    from reconciler.state.interface import StateStore
    from reconciler.state.locations import StateLocation

FAULTS_ENV = "RECONCILER_SANDBOX_FAULTS"  # sandbox.sandbox.FAULTS_ENV (a test checks): not imported here
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

    def release_sandbox_caches(self) -> None:
        """The embedded emulator's caches go, if it was started (`Sandbox.release_caches`)."""
        if self.sandbox is not None:
            self.sandbox.release_caches()


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
        f"export it (the {role.replace('_', ' ')} for this {config.type} account) and run again"
    )


def _transport(config: ProviderConfig, ctx: WiringContext) -> httpx.BaseTransport | None:
    """The transport a provider's client sends through: logged when `--log-level debug` asks for it."""
    import logging

    chosen = _chosen_transport(config, ctx)
    if not logging.getLogger("reconciler.http").isEnabledFor(logging.DEBUG):
        return chosen  # nothing wraps it: no cost when nobody reads the request log
    from reconciler.providers.http_log import logged

    return logged(chosen, config.name)


def _chosen_transport(config: ProviderConfig, ctx: WiringContext) -> httpx.BaseTransport | None:
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


def connection(config: ProviderConfig, ctx: WiringContext) -> Connection:
    """What the provider's adapter factory needs for this manifest: endpoint, credentials, transport."""
    from reconciler.providers.plugins import Connection

    return Connection(
        base_url=SANDBOX_BASE_URL if config.spec.is_sandbox else config.spec.endpoint,
        credential=lambda role: credential(config, role, ctx),
        transport=_transport(config, ctx),
        clock=ctx.clock,
        parallelism=ctx.parallelism,
        env=ctx.env,
    )


def adapter_classes() -> dict[str, type]:
    """Provider type -> adapter class, for every installed provider plugin (imports every adapter)."""
    from reconciler.providers.plugins import installed

    return {t: plugin.load_adapter_class() for t, plugin in installed().items()}


CAPABILITY_ROWS = (
    "Dataset",
    "FineTune",
    "CheckpointExport",
    "Deployment",
    "Sample",
    "Refresh",
    "Found again without state by",
    "Ambiguous create",
    "Cancel a running job",
    "Delete",
    "Outputs",
)


def capability_table() -> str:
    """The README's provider table, from each plugin's title, adapter CAPABILITIES and spec models
    (the plugins that ship with reconciler: the README describes those)."""
    from reconciler.loading.spec_registry import SHIPPED_WITH, installed_specs
    from reconciler.providers.plugins import installed

    specs = installed_specs(SHIPPED_WITH)
    plugins = [installed()[t] for t in specs.provider_types()]
    lines = ["| | " + " | ".join(p.title for p in plugins) + " |", "|---" * (len(plugins) + 1) + "|"]
    for row in CAPABILITY_ROWS:
        cells = []
        for plugin in plugins:
            text = plugin.capabilities().get(row)
            if row in {k.value for k in Kind} and Kind(row) not in specs.served_kinds(plugin.type):
                text = "— (validation error: use " + ", ".join(specs.providers_serving(Kind(row))) + ")"
            cells.append(text or "—")
        lines.append(f"| **{row}** | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def undeletable_kinds(providers: Mapping[str, ProviderConfig]) -> dict[str, dict[str, str]]:
    """Provider name -> kind -> why its API cannot delete it: data for the planner, asked of the adapter
    classes so that no client or sandbox is started (`plan --refresh=false` stays offline)."""
    from reconciler.providers.plugins import facts_for

    out: dict[str, dict[str, str]] = {}
    for name, config in providers.items():
        facts = facts_for(config.type)
        reasons = {k.value: why for k in Kind if (why := facts.no_delete_api(k.value))}
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
    from reconciler.providers.plugins import plugin_for

    for name, config in providers.items():
        plugin = plugin_for(config.type)
        if plugin is None:
            raise ConfigError(
                f"Provider/{name}: no installed provider plugin serves type {config.type} "
                "(entry point group reconciler.providers)"
            )
        adapters[name] = plugin.build_adapter(config, connection(config, ctx))
    return adapters


def serial_providers(providers: Mapping[str, ProviderConfig], ctx: WiringContext) -> frozenset[str]:
    """The providers whose calls never wait on anything but this process: the embedded sandbox
    (no transport given for it) while it injects no faults (no latency, timeouts, late commits).
    The executor runs their steps one at a time (`ApplyOptions.serial_providers`)."""

    def quiet(config: ProviderConfig) -> bool:
        options = config.spec.sandbox
        if options is not None and options.faults.rules:
            return False
        return ctx.sandbox is None or not ctx.sandbox.faults.rules

    return frozenset(
        name
        for name, config in providers.items()
        if config.spec.is_sandbox and name not in ctx.transports and quiet(config)
    )


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


def economics_model(config: ProviderConfig) -> ProviderEconomics | None:
    """The provider's pure economics (prices, quantities, quotas), from its plugin; imports no client."""
    from reconciler.providers.plugins import plugin_for

    plugin = plugin_for(config.type)
    return plugin.load_economics(config.spec.endpoint) if plugin is not None else None


def provider_economics(
    providers: Mapping[str, ProviderConfig], quotes: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Economics]:
    """Provider name -> `Economics`: its table, the manifest's `spec.pricing` and `spec.quota`, and any
    prices its pricing endpoint quoted for this plan (`quotes`: provider -> address -> Price)."""
    from reconciler.providers.economics import Economics, PriceBook

    out: dict[str, Economics] = {}
    for name, config in providers.items():
        model = economics_model(config)
        if model is None:
            continue
        spec: Any = config.spec
        book = PriceBook(
            provider=name,
            table=model.price_table(),
            overrides=dict(getattr(spec, "pricing", None) or {}),
            quotes=dict((quotes or {}).get(name) or {}),
        )
        out[name] = Economics(
            model=model, book=book, quota=model.quota().with_override(getattr(spec, "quota", None))
        )
    return out
