"""`Sandbox`: the public face of the emulator — one database, one clock, every provider's API.

It assembles the store, the emulators and the app, reads defaults from the environment
(`RECONCILER_SANDBOX_FAULTS`, `RECONCILER_SANDBOX_TIME_SCALE`) and hands out the two ways in:
`transport()` (in process) and `wsgi_app` (for `serve`). Each provider plugin names its emulator
(`reconciler.providers.plugins`); nothing else here is provider-specific.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from reconciler import plugin_discovery
from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.models.faults import FIDELITIES, FaultConfig
from reconciler.sandbox.app import SandboxApp
from reconciler.sandbox.routing import ProviderEmulator
from reconciler.sandbox.store import Store
from reconciler.sandbox.transport import SandboxTransport

DEFAULT_TIME_SCALE = 3000.0
"""Emulated seconds per real second: the quickstart's 900-step Wan 2.5 job (~6 h) takes ~9 s, so the
whole chain finishes in under 15 s and still shows every phase (PENDING, RUNNING, SUCCEEDED; export
PROCESSING; deployment PENDING, RUNNING). Set `RECONCILER_SANDBOX_TIME_SCALE` for slower (600) or
faster runs."""

FAULTS_ENV = "RECONCILER_SANDBOX_FAULTS"
TIME_SCALE_ENV = "RECONCILER_SANDBOX_TIME_SCALE"
FIDELITY_ENV = "RECONCILER_SANDBOX_FIDELITY"

OBJECT_KINDS = (
    "files",
    "fine_tunes",
    "checkpoints",
    "deployments",
    "wavespeed_predictions",
    "wavespeed_uploads",
    "imgopen_tasks",
)


def _emulators() -> list[ProviderEmulator]:
    """One emulator per installed provider plugin that names one (DashScope, WaveSpeed, ImgOpen…).

    Read from the plugins' entry points at run time: the sandbox imports no provider package."""
    out: list[ProviderEmulator] = []
    for name in plugin_discovery.registered():
        make = getattr(plugin_discovery.loaded(name), "new_emulator", None)
        emulator = make() if callable(make) else None
        if emulator is not None:
            out.append(emulator)
    return out


def faults_from_env() -> FaultConfig:
    raw = os.environ.get(FAULTS_ENV, "").strip()
    if not raw:
        # the defaults, without building FaultConfig's validator (~5 ms of every command that
        # starts the sandbox; a test holds this equal to `FaultConfig()`)
        return FaultConfig.model_construct()
    try:
        return FaultConfig.model_validate_json(raw)
    except ValidationError as exc:
        raise ValueError(
            f"{FAULTS_ENV} is not a valid fault configuration (JSON of FaultConfig): {exc}"
        ) from exc


def time_scale_from_env() -> float:
    raw = os.environ.get(TIME_SCALE_ENV, "").strip()
    if not raw:
        return DEFAULT_TIME_SCALE
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(
            f"{TIME_SCALE_ENV} must be a positive number of emulated seconds per real second (got {raw!r})"
        )
    return value


def check_fidelity(value: str, where: str) -> str:
    if value not in FIDELITIES:
        raise ValueError(f"{where} must be one of {', '.join(FIDELITIES)} (got {value!r})")
    return value


def fidelity_from_env() -> str:
    raw = os.environ.get(FIDELITY_ENV, "").strip()
    return check_fidelity(raw, FIDELITY_ENV) if raw else "permissive"


class Sandbox:
    """An emulator of the providers' HTTP APIs, persisted in SQLite.

    `db_path=None` keeps everything in memory (blobs in a temporary directory); a path persists
    state across processes. `time_scale` is emulated seconds per real second. `fidelity`
    ("permissive" or "documented", default from RECONCILER_SANDBOX_FIDELITY) is the default for
    every transport; a transport may ask for another.
    """

    def __init__(
        self,
        db_path: str | Path | None = None,
        clock: Clock | None = None,
        time_scale: float | None = None,
        faults: FaultConfig | None = None,
        seed: int | None = None,
        fidelity: str | None = None,
    ) -> None:
        self.fidelity = check_fidelity(fidelity, "fidelity") if fidelity is not None else fidelity_from_env()
        if time_scale is None:
            time_scale = time_scale_from_env()
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive (got {time_scale})")
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.time_scale = float(time_scale)
        self.faults = faults if faults is not None else faults_from_env()
        self.seed = seed if seed is not None else 0
        self.store = Store(db_path)
        self._app = SandboxApp(
            self.store, _emulators(), self.clock, self.time_scale, self.seed, self.faults, self.fidelity
        )

    @property
    def db_path(self) -> Path | None:
        return self.store.path

    @property
    def wsgi_app(self) -> SandboxApp:
        return self._app

    def transport(
        self, faults: FaultConfig | None = None, fidelity: str | None = None
    ) -> httpx.BaseTransport:
        """An in-process httpx transport; `faults` and `fidelity` override the sandbox's own for it."""
        if fidelity is not None:
            check_fidelity(fidelity, "fidelity")
        return SandboxTransport(self._app, self.clock, faults, fidelity)

    def request_counts(self) -> dict[str, int]:
        """Requests that reached the sandbox, keyed 'METHOD /route/template' (faulted ones included)."""
        return self.store.request_counts()

    def reset_counts(self) -> None:
        self.store.reset_counts()

    def list_objects(self, kind: str) -> list[dict[str, Any]]:
        """Every object of `kind` ever created, as the API shows it now, plus `_deleted: bool`."""
        return self._app.list_objects(kind)

    def release_caches(self) -> None:
        """`SandboxApp.release_caches`: the emulators' caches go, to be rebuilt when next needed."""
        self._app.release_caches()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
