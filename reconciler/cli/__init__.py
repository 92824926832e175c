"""The `reconciler` command line: thin click wrappers over the library.

This package is the only place that wires concrete providers, the sandbox and the state
store together. Each command module registers its commands on `main`.
"""

from __future__ import annotations

from reconciler.cli import (  # noqa: F401,E402  (importing registers the commands)
    engine_cmds,
    sandbox_cmd,
    schema_cmd,
    state_cmds,
    validate_cmd,
)
from reconciler.cli.app import main


def run() -> None:
    """The `reconciler` executable: process-wide settings, then the click group."""
    from reconciler.cli import collector

    collector.pause()
    main()


__all__ = ["main", "run"]
