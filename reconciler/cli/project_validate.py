"""`reconciler validate` without `-f`: the project file, then each environment it defines.

A pre-commit hook or CI job runs `reconciler validate` at the repository root; every environment
must be valid, because a patch can break one while the shared manifests stay fine. `--env NAME`
validates one. Output is the usual, under one heading per environment; `--json` gives
`{"valid", "project", "environments": {NAME: <the usual report>}}`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from reconciler.cli.project_options import chosen_project


def validate_project(paths: tuple[str, ...], as_json: bool, show_effective: bool, skip_data: bool) -> None:
    from reconciler.cli.validate_cmd import effective_yaml, json_report, summary
    from reconciler.loading.errors import ManifestError
    from reconciler.loading.loader import in_source_order, load
    from reconciler.loading.project_file import ProjectError
    from reconciler.prune_guard import skipped_files

    try:
        chosen = chosen_project(paths)
        assert chosen is not None  # no -f, or a usage error was raised
        project, env = chosen
        names: list[str | None] = [env] if env is not None else list(project.environments) or [None]
        selections = [project.select(name) for name in names]
    except ManifestError as e:
        for d in in_source_order(list(e.diagnostics)):
            click.echo(str(d), err=True)
        click.echo(f"{len(e.diagnostics.errors)} error(s) in the project file", err=True)
        raise SystemExit(1) from None
    except ProjectError as e:
        click.echo(f"Error: {e}", err=True)
        raise SystemExit(1) from None
    reports: dict[str, Any] = {}
    failed = False
    for selection in selections:
        name = selection.environment or "default"
        result = load(selection.manifest_paths, check_data=not skip_data, patches=selection.patches)
        result.diagnostics.extend(skipped_files(selection.manifest_paths))
        diagnostics = in_source_order(list(result.diagnostics))
        errors = [d for d in diagnostics if d.severity.value == "error"]
        warnings = [d for d in diagnostics if d.severity.value == "warning"]
        failed = failed or bool(errors)
        if as_json:
            reports[name] = json_report(result, errors, warnings, show_effective)
            continue
        if len(selections) > 1 or selection.environment is not None:
            click.echo(f"environment {name}:", err=True)
        for d in diagnostics:
            click.echo(str(d), err=True)
        if show_effective and not errors:
            click.echo(effective_yaml(result), nl=False)
        click.echo(summary(result, len(errors), len(warnings)), err=bool(errors) or show_effective)
    if as_json:
        body = {"valid": not failed, "project": project.shown, "environments": reports}
        click.echo(json.dumps(body, indent=2))
    raise SystemExit(1 if failed else 0)
