"""`reconciler schema`: write the JSON Schemas generated from the models, or check they are current."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.app import main

DEFAULT_SCHEMA_DIR = "schemas"


def stale_schema_files(directory: Path, expected: dict[str, str]) -> list[tuple[str, str]]:
    """(file name, problem) for every generated file that is missing or differs from `expected`."""
    problems = []
    for name, text in sorted(expected.items()):
        path = directory / name
        if not path.is_file():
            problems.append((name, "missing"))
        elif path.read_text(encoding="utf-8") != text:
            problems.append((name, "stale"))
    return problems


@main.command("schema")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_SCHEMA_DIR,
    show_default=True,
    help="Directory to write the schemas to (or to check).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a schema file is missing or stale.")
@click.option(
    "--all-plugins",
    is_flag=True,
    help="Describe every installed provider plugin, not only those that ship with reconciler.",
)
def schema_command(out_dir: Path, check: bool, all_plugins: bool) -> None:
    """Write one JSON Schema per kind plus the combined reconciler.json.

    Editors use them through a `# yaml-language-server: $schema=...` line at the top of a manifest.
    By default the schemas describe the providers that ship with reconciler (what `schemas/` holds),
    so `--check` does not depend on which other plugins are installed.
    """
    from reconciler.loading.spec_registry import SHIPPED_WITH, installed_specs
    from reconciler.models.schemas import render_schema_files

    expected = render_schema_files(installed_specs(None if all_plugins else SHIPPED_WITH))
    problems = stale_schema_files(out_dir, expected)
    if check:
        if problems:
            for name, problem in problems:
                click.echo(f"{out_dir / name}: {problem}", err=True)
            raise click.ClickException(
                f"{len(problems)} schema file(s) in {out_dir} are out of date; run `reconciler schema"
                f"{'' if str(out_dir) == DEFAULT_SCHEMA_DIR else f' --out {out_dir}'}` and commit the result"
            )
        click.echo(f"{len(expected)} schema files in {out_dir} are up to date")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = {name for name, _ in problems}
    for name, text in expected.items():
        if name in changed:
            (out_dir / name).write_text(text, encoding="utf-8")
    click.echo(
        f"wrote {len(changed)} of {len(expected)} schema files to {out_dir} ({len(expected) - len(changed)} unchanged)"
    )
