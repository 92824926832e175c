"""`show [PLAN.json]`: a saved plan, rendered as `plan` renders it, or the state (Terraform's `show`)."""

from __future__ import annotations

import json
import sys

import click

from reconciler import render
from reconciler.cli.app import main
from reconciler.cli.common import EXIT_OK, handle_errors, manifest_options, workspace
from reconciler.cli.engine_cmds import read_saved_plan


@main.command("show")
@manifest_options
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="A plan: its JSON document (the format 'plan --out' saves). The state: every record's "
    "address, id, status and outputs as JSON.",
)
@handle_errors
def show_cmd(paths: tuple[str, ...], state_path: str | None, plan_file: str | None, as_json: bool) -> None:
    """Show a saved plan (PLAN_FILE), or, without one, what the state manages. Reads only.

    \\b
    Examples:
      reconciler show -f manifests/quickstart                 # addresses, ids, status, outputs
      reconciler show -f manifests/quickstart plan.json       # the saved plan, as plan prints it
      reconciler show -f manifests/quickstart --json
    """
    if plan_file:
        plan = read_saved_plan(plan_file)
        if as_json:
            click.echo(render.plan_to_json(plan), nl=False)
        else:
            render.print_plan(render.output_console(), plan)  # a pipe: plain text, no rich
        sys.exit(EXIT_OK)
    ws = workspace(paths, state_path)
    records = ws.records()
    if as_json:
        data = {
            "state": ws.state_display,
            "resources": [
                {
                    "address": a,
                    "kind": r.kind,
                    "name": r.name,
                    "provider": r.provider,
                    "remote_id": r.remote_id,
                    "status": r.status,
                    "outputs": r.outputs,
                    "built_from": r.built_from,
                    "updated_at": r.updated_at,
                }
                for a, r in sorted(records.items())
            ],
        }
        click.echo(json.dumps(data, indent=2, sort_keys=False))
        sys.exit(EXIT_OK)
    if not records:
        click.echo(f"The state at {ws.state_display} manages nothing yet.")
        sys.exit(EXIT_OK)
    click.echo(f"# {ws.state_display}: {len(records)} resource(s)")
    for address, r in sorted(records.items()):
        click.echo("")
        click.echo(f"{address}")
        click.echo(f"  id     = {r.remote_id or '-'}")
        click.echo(f"  status = {r.status or '-'}")
        for key, value in sorted(r.outputs.items()):
            if value is None or key.startswith("_") or key == "downloads":
                continue
            click.echo(f"  {key} = {render.output_value_text(key, value)}")
