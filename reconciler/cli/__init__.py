"""The `reconciler` command line: thin click wrappers over the library.

This package is the only place that wires concrete providers, the sandbox and the state
store together. Each command module registers its commands on `main`.
"""

from __future__ import annotations

from reconciler.cli.app import main
from reconciler.cli import schema_cmd, validate_cmd, sandbox_cmd  # noqa: F401,E402  (registers commands)

__all__ = ["main"]
