"""state list/show/rm, output, graph: read (and, for `state rm`, edit) the state cache."""

from __future__ import annotations

import json
import sys

import click

from reconciler import render
from reconciler.cli.app import main
from reconciler.cli.common import EXIT_OK, handle_errors, lock_option, manifest_options, workspace
from reconciler.cli.project_options import project_options
from reconciler.models.kinds import Kind


@main.group("state")
def state_group() -> None:
    """Inspect or edit the state cache (never calls a provider)."""


@state_group.command("list")
@manifest_options
@handle_errors
def state_list(paths: tuple[str, ...], state_path: str | None) -> None:
    """List the addresses the state manages, with remote id and last known status.

    Example: reconciler state list -f manifests/quickstart
    """
    for address, rec in sorted(workspace(paths, state_path).records().items()):
        click.echo(f"{address}\t{rec.remote_id or '-'}\t{rec.status or '-'}")


@state_group.command("show")
@manifest_options
@click.argument("address")
@handle_errors
def state_show(paths: tuple[str, ...], state_path: str | None, address: str) -> None:
    """Show one resource's state record as JSON.

    Example: reconciler state show -f manifests/quickstart FineTune/money-rain
    """
    records = workspace(paths, state_path).records()
    if address not in records:
        from reconciler.workspace import WorkspaceError

        raise WorkspaceError(f"{address} is not in state (see 'reconciler state list')")
    click.echo(json.dumps(records[address].to_dict(), indent=2, sort_keys=True))


@state_group.command("rm")
@manifest_options
@click.argument("addresses", nargs=-1, required=True)
@lock_option
@handle_errors
def state_rm(
    paths: tuple[str, ...], state_path: str | None, addresses: tuple[str, ...], lock_timeout: float
) -> None:
    """Forget resources: remove them from state, leave them on the provider.

    Example: reconciler state rm -f manifests/quickstart Deployment/money-rain
    """
    for a in workspace(paths, state_path).state_rm(list(addresses), lock_timeout=lock_timeout):
        click.echo(f"Removed {a} from state (left on the provider).")


@state_group.command("mv")
@manifest_options
@click.argument("old")
@click.argument("new")
@lock_option
@handle_errors
def state_mv(paths: tuple[str, ...], state_path: str | None, old: str, new: str, lock_timeout: float) -> None:
    """Move a resource's state to a new address: the same provider object under another name.

    OLD and NEW are addresses of one kind (Kind/name); NEW must not be in state. Dependents keep
    knowing which object they were built from, so after renaming the resource in the manifests
    too, plan shows no retrain and no redeploy. Nothing remote changes. (To rename by a manifest
    edit alone, set metadata.moved_from on the renamed resource instead.)

    \b
    Example:
      reconciler state mv -f manifests/quickstart FineTune/money-rain FineTune/money-rain-v1
    """
    record = workspace(paths, state_path).state_mv(old, new, lock_timeout=lock_timeout)
    click.echo(
        f"Moved {old} to {record.address} ({record.remote_id or 'no remote id'}); nothing remote changed."
    )


@state_group.command("resolve")
@manifest_options
@click.argument("address")
@click.option(
    "--absent",
    is_flag=True,
    required=True,
    help="Declare that the interrupted create never reached the provider (you checked its console).",
)
@lock_option
@handle_errors
def state_resolve(
    paths: tuple[str, ...], state_path: str | None, address: str, absent: bool, lock_timeout: float
) -> None:
    """Settle an interrupted create that reconciler cannot settle by itself.

    When a create's outcome is unknown (a timeout, a kill) and the provider's documented
    answers cannot tell whether it landed, plan stops that resource and says so. If the
    object is there, adopt it with 'reconciler import ADDRESS ID'. If you are sure it is not,
    this closes the journal row, and the next apply creates the resource.

    \b
    Example:
      reconciler state resolve -f manifests/quickstart FineTune/money-rain --absent
    """
    n = workspace(paths, state_path).state_resolve_absent(address, lock_timeout=lock_timeout)
    click.echo(
        f"{address}: {n} interrupted create{'s' if n != 1 else ''} marked absent; the next apply creates it"
    )


@state_group.command("migrate")
@manifest_options
@click.option(
    "--to",
    "to",
    required=True,
    metavar="PATH|URL",
    help="Where to copy the state: a new state file, or postgresql://USER@HOST:PORT/DB.",
)
@click.option(
    "--to-workspace",
    metavar="NAME",
    help="The destination workspace (PostgreSQL; default: this state's workspace, or the one "
    "derived from the manifest directory).",
)
@lock_option
@handle_errors
def state_migrate(
    paths: tuple[str, ...], state_path: str | None, to: str, to_workspace: str | None, lock_timeout: float
) -> None:
    """Copy the state to another store (SQLite ⇄ PostgreSQL), exactly, and verify the copy.

    Copies the lineage and serial, every record, the journal and the events into an empty
    destination, with both states locked, then reads the copy back and compares it. The
    source is left as it was; point --state (or RECONCILER_STATE) at the destination afterwards.

    \b
    Examples:
      reconciler state migrate -f manifests/quickstart --to postgresql://ci@db.internal:5432/reconciler
      reconciler state migrate -f manifests/quickstart --state postgresql://ci@db.internal/reconciler \\
          --to manifests/quickstart/.reconciler/state-copy.db
    """
    done = workspace(paths, state_path).migrate_state(
        to, to_workspace=to_workspace, lock_timeout=lock_timeout
    )
    click.echo(
        f"Copied the state (lineage {done.lineage}, serial {done.serial}: {done.counts}) from {done.source} "
        f"to {done.destination.display}, and verified the copy. The source is unchanged."
    )
    if done.destination.is_postgresql:
        from reconciler.state.locations import scrub_url

        click.echo(
            f"Use it with: --state {scrub_url(done.destination.url or '')} "
            f"--workspace {done.destination.workspace}"
        )
    else:
        click.echo(f"Use it with: --state {done.destination.path}")


@main.command("output")
@manifest_options
@click.argument("address", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print outputs as JSON.")
@click.option(
    "--download",
    "download_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Download LoRA files and Sample media (their URLs expire) into DIR and record their sha256 in state.",
)
@click.option(
    "--gallery",
    "gallery_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write DIR/index.html: each LoRA version's samples and the validation previews per checkpoint "
    "(media downloaded into DIR/media).",
)
@lock_option
@handle_errors
def output_cmd(
    paths: tuple[str, ...],
    state_path: str | None,
    address: str | None,
    as_json: bool,
    download_dir: str | None,
    gallery_dir: str | None,
    lock_timeout: float,
) -> None:
    """Show outputs (file ids, job ids, model names, deployed models, LoRA URLs) from state.

    \b
    Examples:
      reconciler output -f manifests/quickstart
      reconciler output -f manifests/quickstart Deployment/money-rain --json
      reconciler output -f manifests/examples/wavespeed --download loras/
      reconciler output -f manifests/examples/wavespeed --gallery gallery/
    """
    ws = workspace(paths, state_path)
    if gallery_dir:
        report = ws.write_gallery(gallery_dir)
        click.echo(
            f"gallery: {report.page} ({report.samples} sample render(s), {report.previews} validation preview(s), "
            f"{report.downloaded} file(s) downloaded)",
            err=as_json,
        )
        for problem in report.failed:
            click.echo(f"  not downloaded: {problem}", err=True)
    if download_dir:
        for addr, files in ws.download_outputs(download_dir, address, lock_timeout=lock_timeout).items():
            for key, info in files.items():
                click.echo(
                    f"{addr}: {key} → {info['path']} ({info['bytes']} bytes, sha256 {info['sha256']})",
                    err=as_json,
                )
    outputs = ws.outputs(address)
    if as_json:
        click.echo(json.dumps(outputs, indent=2, sort_keys=True))
        sys.exit(EXIT_OK)
    for addr, values in outputs.items():
        click.echo(addr)
        for k, v in values.items():
            if v is None or k.startswith("_"):
                continue
            click.echo(f"  {k} = {render.output_value_text(k, v)}")


@main.command("graph")
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    metavar="PATH",
    help="A manifest file or a directory. Repeatable. Default: the manifests reconciler.yaml lists.",
)
@project_options
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@handle_errors
def graph_cmd(paths: tuple[str, ...], fmt: str) -> None:
    """Print the dependency graph of the manifests (Mermaid or Graphviz DOT).

    \b
    Examples:
      reconciler graph -f manifests/quickstart
      reconciler graph -f manifests/quickstart --format dot | dot -Tsvg > graph.svg
    """
    manifests = workspace(paths, None).manifests
    order = manifests.topological_order()
    ids = {a: f"n{i}" for i, a in enumerate(order)}
    shapes = {
        Kind.DATASET: ("[(", ")]"),
        Kind.FINE_TUNE: ("[[", "]]"),
        Kind.CHECKPOINT_EXPORT: ("[/", "/]"),
        Kind.DEPLOYMENT: ("((", "))"),
        Kind.SAMPLE: ("{{", "}}"),
    }
    if fmt == "mermaid":
        click.echo("graph LR")
        for a in order:
            left, right = shapes[manifests.resources[a].kind]
            click.echo(f'  {ids[a]}{left}"{a}"{right}')
        for a in order:
            for dep in manifests.resources[a].dependencies():
                if dep in ids:
                    click.echo(f"  {ids[dep]} --> {ids[a]}")
    else:
        click.echo("digraph reconciler {\n  rankdir=LR;\n  node [shape=box];")
        for a in order:
            click.echo(f'  "{a}";')
        for a in order:
            for dep in manifests.resources[a].dependencies():
                if dep in ids:
                    click.echo(f'  "{dep}" -> "{a}";')
        click.echo("}")
