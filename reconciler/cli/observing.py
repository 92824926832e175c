"""Options for seeing what a run does: `--log-level`/`--log-file`, `--json` errors, `--target`/`--replace`.

The log records what the library logs (`reconciler.*` loggers): at `debug` every provider request
(method, path, status, request id, duration) and every poll; at `info` retries (with the
provider's Retry-After), status changes and waits; at `warning` only problems. Lines are
formatted `TIME LEVEL LOGGER: MESSAGE` in UTC. A filter replaces the value of every credential
variable the manifests name (and anything shaped like a bearer token) with `[redacted]` before a
line is written: the loggers never format a secret, and this makes sure of it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.cli.hints import complete

if TYPE_CHECKING:
    import logging

    from reconciler.models.plans import Plan
    from reconciler.render.stream import JsonStream
    from reconciler.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

# logging.DEBUG, INFO and WARNING: `logging` is imported only when a log is asked for (a plan
# without --log-level needs none of it: 2 ms of start-up)
LEVELS = {"debug": 10, "info": 20, "warning": 30}


def log_options(f: F) -> F:
    f = click.option(
        "--log-file",
        type=click.Path(dir_okay=False, writable=True),
        metavar="PATH",
        help="Append the log to PATH (default level info; see --log-level).",
    )(f)
    f = click.option(
        "--log-level",
        type=click.Choice(list(LEVELS)),
        help="debug: every provider request (method, path, status, request id, duration) and poll; "
        "info: retries (with Retry-After), status changes, waits; warning: problems only. "
        "To stderr unless --log-file.",
    )(f)
    return f


def targeting_options(f: F) -> F:
    f = click.option(
        "--replace",
        "replaces",
        multiple=True,
        metavar="ADDRESS",
        help="Rebuild ADDRESS although unchanged (retrain, re-export, redeploy); its dependents follow "
        "as lineage requires. Repeatable.",
    )(f)
    f = click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="ADDRESS",
        help="Limit the run to ADDRESS and what it depends on (a partial plan: not for routine use). "
        "Repeatable.",
    )(f)
    return f


_SECRETS: set[str] = set()  # what `add_secrets` found; the log's filter replaces each


def _redact(record: logging.LogRecord) -> bool:
    """The log's filter (a callable is a filter to `logging`): every secret becomes `[redacted]`."""
    from reconciler.providers.errors import redact

    message = record.getMessage()
    clean = redact(message, *sorted(_SECRETS, key=len, reverse=True))
    if clean != message:
        record.msg, record.args = clean, None
    return True


@contextlib.contextmanager
def logging_to(level_name: str | None, path: str | None) -> Iterator[None]:
    """Send the `reconciler` loggers to PATH (or stderr) at the level asked, for the block."""
    if level_name is None and path is None:
        yield
        return
    import logging

    level = LEVELS[level_name or "info"]
    try:
        handler: logging.Handler = (
            logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
        )
    except OSError as e:
        raise click.ClickException(f"--log-file {path}: cannot open it: {e.strerror or e}") from None
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_redact)
    logger = logging.getLogger("reconciler")
    previous = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()


def add_secrets(ws: Workspace) -> None:
    """The values of the credential variables the manifests name: never written to the log."""
    for provider in ws.manifests.providers.values():
        for variable in provider.spec.credential_envs().values():
            if os.environ.get(variable):
                _SECRETS.add(os.environ[variable])


@contextlib.contextmanager
def json_errors(stream: JsonStream | None) -> Iterator[None]:
    """With `--json`, a failure is a `diagnostic` line on stdout (and exit 1), not text on stderr."""
    if stream is None:
        yield
        return
    from reconciler.cli.common import EXIT_ERROR, _errors

    caught: tuple[type[Exception], ...] = (click.ClickException, *_errors.user_errors())
    try:
        yield
    except _errors.ManifestError as e:
        for d in e.diagnostics:
            stream.diagnostic(d.to_dict())
        raise SystemExit(EXIT_ERROR) from None
    except caught as e:
        message = e.format_message() if isinstance(e, click.ClickException) else str(e)
        stream.error(complete(message))
        raise SystemExit(EXIT_ERROR) from None


def complete_plan_hints(plan: Plan) -> None:
    """The commands a plan's reasons, warnings and errors suggest, given this run's `-f` (hints.py)."""
    for a in plan.actions:  # assigned only where a text changed (most name no command)
        reason = complete(a.reason)
        if reason is not a.reason:
            a.reason = reason
        if a.warnings:
            warnings = [complete(w) for w in a.warnings]
            if any(new is not old for new, old in zip(warnings, a.warnings, strict=True)):
                a.warnings = warnings
    for d in [*plan.errors, *plan.warnings]:
        if isinstance(d.get("message"), str):
            d["message"] = complete(d["message"])


__all__ = [
    "add_secrets",
    "complete_plan_hints",
    "json_errors",
    "log_options",
    "logging_to",
    "targeting_options",
]
