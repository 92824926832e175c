"""`reconciler sandbox serve|stats`: run the provider emulator over HTTP, or show what it was asked.

Thin wrappers over `reconciler.sandbox`. `serve` blocks until interrupted; `stats` reads the
request counts persisted in the same database, so it works while a server is running.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli.app import main

if TYPE_CHECKING:
    from reconciler.models.faults import FaultConfig
    from reconciler.sandbox import Sandbox

DEFAULT_DB = Path(".reconciler") / "sandbox.db"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@main.group("sandbox")
def sandbox_group() -> None:
    """The embedded provider emulator (DashScope API) with fault injection."""


def _load_faults(path: Path | None) -> FaultConfig | None:
    if path is None:
        return None
    import yaml
    from pydantic import ValidationError

    from reconciler.models.faults import FaultConfig

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError) as exc:
        raise click.ClickException(f"{path}: cannot read the fault configuration: {exc}") from exc
    try:
        return FaultConfig.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()
        )
        raise click.ClickException(f"{path}: invalid fault configuration: {problems}") from exc


def _open_sandbox(
    db: Path,
    time_scale: float | None,
    faults: FaultConfig | None,
    fidelity: str | None = None,
) -> Sandbox:
    from reconciler.sandbox import Sandbox

    try:
        return Sandbox(db_path=db, time_scale=time_scale, faults=faults, fidelity=fidelity)
    except ValueError as exc:  # bad environment variables
        raise click.ClickException(str(exc)) from exc


@sandbox_group.command("serve")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port (0 = any free port)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind. Keep it on loopback.")
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="X",
    help="Emulated seconds per real second (default 3000, or $RECONCILER_SANDBOX_TIME_SCALE).",
)
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    help="SQLite database holding the emulated accounts (created if missing).",
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Fault configuration (YAML or JSON; the FaultConfig model). Default: $RECONCILER_SANDBOX_FAULTS.",
)
@click.option(
    "--fidelity",
    type=click.Choice(["permissive", "documented"]),
    default=None,
    help="'documented': answer only with the least helpful documented shapes (what recovery may rely "
    "on). Default: $RECONCILER_SANDBOX_FIDELITY, else permissive.",
)
def serve_command(
    port: int, host: str, time_scale: float | None, db: Path, faults_file: Path | None, fidelity: str | None
) -> None:
    """Serve the emulator over HTTP until interrupted (Ctrl-C).

    Point clients at http://HOST:PORT/api/v1 (DashScope native) and
    http://HOST:PORT/compatible-mode/v1 (OpenAI-compatible files). Any non-empty API key works.
    """
    from reconciler.cli import collector
    from reconciler.sandbox import serve

    collector.resume()  # a server runs for hours: collect as usual
    faults = _load_faults(faults_file)
    sandbox = _open_sandbox(db, time_scale, faults, fidelity)
    if host not in LOOPBACK:
        click.echo(
            f"warning: binding {host}: the sandbox accepts any API key; anyone who can reach it can use it",
            err=True,
        )
    try:
        server = serve(sandbox, host=host, port=port)
    except OSError as exc:
        sandbox.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port"
        ) from exc
    click.echo(
        f"reconciler sandbox listening on {server.url}  (database {db}, time scale {sandbox.time_scale:g}x, "
        f"{sandbox.fidelity} fidelity)"
    )
    click.echo(f"  DashScope native:            {server.url}/api/v1")
    click.echo(f"  DashScope OpenAI-compatible: {server.url}/compatible-mode/v1")
    click.echo("Press Ctrl-C to stop.", nl=True)
    stop = threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        server.shutdown()
        sandbox.close()


@sandbox_group.command("stats")
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    help="The sandbox database to read.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as a JSON object.")
@click.option("--reset", is_flag=True, help="Zero the counts after printing them.")
def stats_command(db: Path, as_json: bool, reset: bool) -> None:
    """Print how many requests each endpoint received (faulted ones included)."""
    if not db.exists():
        raise click.ClickException(
            f"{db}: no sandbox database here; pass --db PATH (the one `sandbox serve` uses)"
        )
    from reconciler.models.faults import FaultConfig

    sandbox = _open_sandbox(db, None, FaultConfig())
    try:
        counts = sandbox.request_counts()
        if as_json:
            click.echo(json.dumps(counts, indent=2, sort_keys=True))
        elif not counts:
            click.echo("no requests recorded")
        else:
            width = max(len(k) for k in counts)
            for key, n in sorted(counts.items()):
                click.echo(f"{key:<{width}}  {n:>7}")
            click.echo(f"{'total':<{width}}  {sum(counts.values()):>7}")
        if reset:
            sandbox.reset_counts()
    finally:
        sandbox.close()
