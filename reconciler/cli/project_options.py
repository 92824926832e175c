"""`--env` and `--project`: choose the manifests from `reconciler.yaml` instead of `-f`.

Without `-f`, every command looks for `reconciler.yaml` in the working directory and its parents
(as git looks for `.git`), or reads the one `--project FILE` names; `--env NAME` (or
`RECONCILER_ENV`) picks one of its environments. With `-f`, nothing changes: the project file is
not read, and `--env`/`--project` on the command line are a usage error (one way to say which
manifests, not two).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from reconciler.loading.project_file import Project, Selection

F = TypeVar("F", bound=Callable[..., Any])

ENV_ENV = "RECONCILER_ENV"
_META = "reconciler.project-options"


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    from_env = ctx.get_parameter_source(param.name or "") is click.core.ParameterSource.ENVIRONMENT
    ctx.meta.setdefault(_META, {})[param.name] = (value, from_env)


def project_options(f: F) -> F:
    f = click.option(
        "--project",
        "project_file",
        metavar="FILE",
        expose_value=False,
        callback=_remember,
        help="The project file (default: reconciler.yaml in this directory or the nearest parent).",
    )(f)
    f = click.option(
        "--env",
        "env",
        metavar="NAME",
        envvar=ENV_ENV,
        show_envvar=True,
        expose_value=False,
        callback=_remember,
        help="An environment of the project file: its patches and its own state.",
    )(f)
    return f


def _given() -> tuple[tuple[str | None, bool], tuple[str | None, bool]]:
    ctx = click.get_current_context(silent=True)
    meta = ctx.meta.get(_META, {}) if ctx is not None else {}
    return meta.get("env", (None, False)), meta.get("project_file", (None, False))


def project_flags(ctx: click.Context) -> list[str]:
    """`--project FILE` / `--env NAME` as given on the command line (RECONCILER_ENV repeats itself)."""
    meta = ctx.meta.get(_META, {})
    words: list[str] = []
    project_file, _ = meta.get("project_file", (None, False))
    env, from_var = meta.get("env", (None, False))
    if project_file is not None:
        words += ["--project", str(project_file)]
    if env is not None and not from_var:
        words += ["--env", str(env)]
    return words


def project_given() -> bool:
    """`--project` or `--env` on the command line (not from RECONCILER_ENV)."""
    (env, env_from_var), (project_file, _) = _given()
    return project_file is not None or (env is not None and not env_from_var)


def chosen_project(paths: tuple[str, ...]) -> tuple[Project, str | None] | None:
    """The project file and environment this command runs on, or None when `-f` names the manifests."""
    (env, env_from_var), (project_file, _) = _given()
    if paths:  # -f: the project file's module (and its models) is not needed
        if project_file is not None or (env is not None and not env_from_var):
            from reconciler.loading.project_file import PROJECT_FILE

            flag = "--project" if project_file is not None else f"--env {env}"
            raise click.UsageError(
                f"{flag} selects manifests from {PROJECT_FILE}, and -f names them too; use one: drop -f "
                f"(the project file lists the manifests), or drop {flag.split()[0]}"
            )
        return None  # -f as always (RECONCILER_ENV only applies to project runs)
    from reconciler.loading.project_file import PROJECT_FILE, load_project

    project = load_project(project_file)
    if project is None:
        where = Path.cwd()
        if env is not None:
            raise click.UsageError(
                f"--env {env}: no {PROJECT_FILE} in {where} or any parent directory, so there are no "
                f"environments; create one (README: 'Project file and environments'), or give the "
                "manifests with -f PATH"
            )
        raise click.UsageError(
            f"no manifests given: use -f PATH (a file or a directory), or run where a {PROJECT_FILE} "
            f"lists them (none in {where} or its parents)"
        )
    return project, env


def chosen_selection(paths: tuple[str, ...]) -> Selection | None:
    chosen = chosen_project(paths)
    if chosen is None:
        return None
    project, env = chosen
    return project.select(env)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


__all__ = [
    "ENV_ENV",
    "chosen_project",
    "project_flags",
    "project_given",
    "chosen_selection",
    "project_options",
    "warn",
]
