"""Options every engine command shares, and the one place library errors become exit codes."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.cli.project_options import chosen_selection, project_options, warn

if TYPE_CHECKING:
    from reconciler.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])


class _Errors:
    """The library's exception classes, imported only when an exception reaches `handle_errors`.

    (`except _errors.X` evaluates `_errors.X` only when something was raised, so `--help` and a
    successful run never import the modules that define them.)
    """

    _WHERE = {
        "ManifestError": "reconciler.loading.errors",
        "ConfigurationError": "reconciler.providers.errors",
        "ProviderError": "reconciler.providers.errors",
        "PlanFormatError": "reconciler.render.json_format",
        "StateError": "reconciler.state.interface",
        "ConfigError": "reconciler.wiring",
        "WorkspaceError": "reconciler.workspace",
        "ProjectError": "reconciler.loading.project_file",
    }

    def __getattr__(self, name: str) -> Any:
        import importlib

        value = getattr(importlib.import_module(self._WHERE[name]), name)
        setattr(self, name, value)
        return value

    def user_errors(self) -> tuple[type[Exception], ...]:
        return (
            self.WorkspaceError,
            self.StateError,
            self.ConfigError,
            self.ConfigurationError,
            self.ProviderError,
            self.PlanFormatError,
            self.ProjectError,
        )


_errors = _Errors()

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
EXIT_OVER_BUDGET = 3  # plan/apply --max-cost: the plan's known cost is above the budget


def _budget(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, str] | None:
    if value is None:
        return None
    from reconciler.models.costs import parse_budget

    try:
        return parse_budget(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def max_cost_option(f: F) -> F:
    return click.option(
        "--max-cost",
        "max_cost",
        metavar="AMOUNT",
        callback=_budget,
        help="Refuse the plan (exit 3) when its estimated cost is above AMOUNT, e.g. 25, $25, '180 CNY' "
        "(default currency USD). Unknown prices are not counted; the plan says how many there are.",
    )(f)


STATE_ENV, WORKSPACE_ENV = "RECONCILER_STATE", "RECONCILER_WORKSPACE"
_WORKSPACE_META = "reconciler.workspace"


def _remember_workspace(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    from_env = ctx.get_parameter_source(param.name or "") is click.core.ParameterSource.ENVIRONMENT
    ctx.meta[_WORKSPACE_META] = (value, from_env)


def manifest_options(f: F) -> F:
    f = project_options(f)  # --env, --project: the manifests from reconciler.yaml (project_options.py)
    f = click.option(
        "--workspace",
        metavar="NAME",
        envvar=WORKSPACE_ENV,
        show_envvar=True,
        expose_value=False,
        callback=_remember_workspace,
        help="PostgreSQL state: the workspace that keeps this manifest set apart from others in the "
        "database (default: derived from the manifest directory).",
    )(f)
    f = click.option(
        "--state",
        "state_path",
        metavar="PATH|URL",
        envvar=STATE_ENV,
        show_envvar=True,
        help="State file (default: <manifest dir>/.reconciler/state.db), or a shared PostgreSQL "
        "state: postgresql://USER@HOST:PORT/DB.",
    )(f)
    f = click.option(
        "-f",
        "--filename",
        "paths",
        multiple=True,
        metavar="PATH",
        help="A manifest file or a directory (searched recursively). Repeatable. "
        "Default: the manifests reconciler.yaml lists.",
    )(f)
    return f


def lock_option(f: F) -> F:
    return click.option(
        "--lock-timeout",
        type=float,
        default=0.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for another run's state lock before giving up.",
    )(f)


def parallelism_option(f: F) -> F:
    return click.option(
        "--parallelism",
        type=click.IntRange(1, 256),
        default=10,
        show_default=True,
        help="How many provider operations run at once.",
    )(f)


def allow_empty_option(f: F) -> F:
    return click.option(
        "--allow-empty",
        is_flag=True,
        help="Allow a plan that deletes everything in the state because the manifests declare "
        "no resources (refused otherwise: files may have been lost, not removed).",
    )(f)


def workspace(
    paths: tuple[str, ...], state_path: str | None, parallelism: int = 10, allow_empty: bool = False
) -> Workspace:
    from reconciler.state.locations import is_postgres_url
    from reconciler.workspace import Workspace

    ctx = click.get_current_context(silent=True)
    name, from_env = ctx.meta.get(_WORKSPACE_META, (None, False)) if ctx is not None else (None, False)
    selection = chosen_selection(paths)
    if selection is not None:  # no -f: the project file says which manifests, state and environment
        state = state_path or selection.state
        if from_env and not is_postgres_url(state):
            name = None
        return Workspace.for_project(
            selection,
            state_path=state_path,
            workspace=name,
            warn=warn,
            parallelism=parallelism,
            allow_empty=allow_empty,
        )
    if from_env and not is_postgres_url(state_path):
        name = None  # RECONCILER_WORKSPACE only names PostgreSQL workspaces; a state file has none
    return Workspace(
        list(paths), state_path=state_path, workspace=name, parallelism=parallelism, allow_empty=allow_empty
    )


def handle_errors(f: F) -> F:
    """User mistakes and provider failures print one clear message and exit 1; `--debug` adds tracebacks."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool((click.get_current_context().find_root().obj or {}).get("debug"))
        try:
            return f(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            # first: every command ends in sys.exit, and the clauses below import the modules of
            # the classes they name (the project file's, the plan file's) as they are evaluated
            raise
        except _errors.ManifestError as e:
            from reconciler.loading.loader import in_source_order

            for d in in_source_order(list(e.diagnostics)):
                click.echo(str(d), err=True)
            errors = sum(1 for d in e.diagnostics if d.severity.value == "error")
            click.echo(f"{errors} error(s) in the manifests; nothing was changed.", err=True)
            raise SystemExit(EXIT_ERROR) from None
        except _errors.user_errors() as e:
            if debug:
                traceback.print_exc()
            from reconciler.cli.hints import complete

            click.echo(f"Error: {complete(str(e))}", err=True)
            raise SystemExit(EXIT_ERROR) from None
        except Exception as e:  # a bug: say so, and how to see more
            if debug:
                traceback.print_exc()
            else:
                click.echo(
                    f"Internal error: {type(e).__name__}: {e} (run with --debug for a traceback)", err=True
                )
            raise SystemExit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]  # same signature as `command`: *args/**kwargs passed through


class Interrupts:
    """First Ctrl-C: stop scheduling, finish in-flight calls, exit cleanly. Second: exit at once.

    Both leave the state consistent: every transition is its own committed transaction, and the
    journal row for a call in flight is resolved by the next run.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._previous: Any = None

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.stop.is_set():
            sys.stderr.write("\nSecond interrupt: exiting now. Run 'reconciler apply' again to continue.\n")
            sys.stderr.flush()
            os._exit(130)
        self.stop.set()
        sys.stderr.write(
            "\nInterrupt: finishing calls in flight and stopping (Ctrl-C again to exit at once)...\n"
        )
        sys.stderr.flush()
