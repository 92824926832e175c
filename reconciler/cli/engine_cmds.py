"""plan, apply, destroy, refresh, import, force-unlock: thin wrappers over `Workspace`.

Exit codes: 0 success (plan: no changes), 1 error, 2 changes present (`plan --detailed-exitcode`).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler import (
    refresh_ahead,
    render,  # its names import on first use: rich only to print text
)
from reconciler.cli import collector, hints, malloc_arenas, prescan
from reconciler.cli.app import main
from reconciler.cli.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_OVER_BUDGET,
    Interrupts,
    allow_empty_option,
    handle_errors,
    lock_option,
    manifest_options,
    max_cost_option,
    parallelism_option,
    workspace,
)
from reconciler.cli.observing import (
    add_secrets,
    complete_plan_hints,
    json_errors,
    log_options,
    logging_to,
    targeting_options,
)

if TYPE_CHECKING:
    from reconciler.models.plans import Plan
    from reconciler.render.stream import JsonStream


def read_saved_plan(plan_file: str) -> Plan:
    """The plan file, or one line naming it and what is wrong (never a traceback)."""
    path = Path(plan_file)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise click.ClickException(f"{plan_file}: cannot read the plan file: {e.strerror or e}") from None
    try:
        return render.plan_from_json(data)
    except render.PlanFormatError as e:
        hint = ""
        if path.suffix.lower() in (".yaml", ".yml"):
            hint = " (this looks like a manifest: give manifests with -f; PLAN_FILE is a plan saved by 'plan --out')"
        raise click.ClickException(f"{plan_file}: {e}{hint}") from None


def _check_out_path(out_path: str) -> None:
    """Before planning (a refresh can take a while): the folder must exist, as with Terraform's -out."""
    parent = Path(out_path).parent
    if not parent.is_dir():
        what = (
            f"{parent} is a file, not a directory"
            if parent.exists()
            else f"the directory {parent} does not exist"
        )
        raise click.ClickException(f"--out {out_path}: {what}; create it first, or choose another path")


def _save_plan(plan: Plan, out_path: str) -> None:
    # Written in place (a temporary file renamed over it would replace /dev/stdout when run as root);
    # a half-written plan is not valid JSON, and apply refuses it.
    try:
        Path(out_path).write_text(render.plan_to_json(plan), encoding="utf-8")
    except OSError as e:
        raise click.ClickException(
            f"--out {out_path}: cannot write the plan: {e.strerror or e}; nothing was changed"
        ) from None


def _emit_plan(plan: Plan, as_markdown: bool) -> None:
    if as_markdown:
        click.echo(render.plan_to_markdown(plan), nl=False)
    else:
        from reconciler.render.text import write_plan

        write_plan(sys.stdout, plan)


@main.command("plan")
@manifest_options
@click.option(
    "--refresh",
    type=click.BOOL,
    default=True,
    show_default=True,
    metavar="BOOL",
    help="Read the providers first (--refresh=false: plan from the cached state, offline and instant).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 1 on error, 2 when there are changes.",
)
@click.option("--destroy", is_flag=True, help="Plan the deletion of everything the state manages.")
@click.option(
    "--refresh-only",
    is_flag=True,
    help="Drift alone: compare the state with the providers, ignoring the manifests (apply: record it in "
    "the state; nothing on the providers changes).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    help="Save the plan as JSON, to apply later with 'reconciler apply FILE'.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print machine-readable lines, one JSON object each (the stream format; see README). "
    "The plan itself is its 'plan' line, in the format 'plan --out' saves.",
)
@click.option(
    "--markdown", "as_markdown", is_flag=True, help="Print the plan as Markdown for a pull-request comment."
)
@targeting_options
@max_cost_option
@allow_empty_option
@parallelism_option
@log_options
@handle_errors
def plan_cmd(
    paths: tuple[str, ...],
    state_path: str | None,
    refresh: bool,
    detailed_exitcode: bool,
    destroy: bool,
    refresh_only: bool,
    out_path: str | None,
    as_json: bool,
    as_markdown: bool,
    targets: tuple[str, ...],
    replaces: tuple[str, ...],
    allow_empty: bool,
    parallelism: int,
    log_level: str | None,
    log_file: str | None,
    max_cost: tuple[float, str] | None = None,
) -> None:
    """Show what apply would change, field by field, why, and what it costs. Changes nothing.

    \b
    Examples:
      reconciler plan -f manifests/quickstart
      reconciler plan -f manifests/ --detailed-exitcode      # CI drift check
      reconciler plan -f manifests/ --out plan.json          # then: reconciler apply plan.json
      reconciler plan -f manifests/ --markdown > comment.md
      reconciler plan -f manifests/ --refresh=false          # offline, from the cache
      reconciler plan --env prod --refresh-only --detailed-exitcode   # drift alone
      reconciler plan -f manifests/ --replace FineTune/x     # force a retrain
      reconciler plan -f manifests/ --target Deployment/x    # only it and what it depends on
      reconciler plan -f manifests/ --max-cost 50            # exit 3 when it would cost more than $50
    """
    if refresh_only and (destroy or not refresh):
        raise click.UsageError(
            "--refresh-only reads the providers: it cannot be combined with --destroy or --refresh=false"
        )
    if out_path:
        _check_out_path(out_path)
    prescan.start(paths, state_path)  # the dataset stat pass on the other core, before any import
    if refresh and not (destroy or refresh_only or log_level or log_file):
        # the refresh on the other core, once what both processes import is imported (it opens
        # nothing and starts no thread): the child starts with it instead of importing it again
        # beside the parent (no-change plan N = 1000, 12 interleaved pairs: 0.598 -> 0.563 s wall)
        refresh_ahead.import_shared()
        refresh_ahead.start(lambda: _observe_ahead(paths, state_path, parallelism))
    stream = _stream() if as_json else None
    with logging_to(log_level, log_file), json_errors(stream):
        ws = workspace(paths, state_path, parallelism, allow_empty=allow_empty)
        add_secrets(ws)
        plan = ws.plan(
            refresh=refresh, destroy=destroy, targets=targets, replace=replaces, refresh_only=refresh_only
        )
        complete_plan_hints(plan)
    if stream is not None:
        stream.plan(plan)
        stream.plan_summary(plan)
    else:
        _emit_plan(plan, as_markdown)
    if out_path:
        _save_plan(plan, out_path)
        if plan.errors:
            click.echo(f"Saved the plan to {out_path}; it has errors, so apply will refuse it.", err=True)
        else:
            click.echo(
                f"Saved the plan to {out_path}; apply exactly it with: {hints.command('apply', out_path)}",
                err=True,
            )
    if plan.errors:
        sys.exit(EXIT_ERROR)
    _check_budget(plan, *ws.budget_for(max_cost))
    if detailed_exitcode and plan.has_changes:
        sys.exit(EXIT_CHANGES)
    sys.exit(EXIT_OK)


def _observe_ahead(paths: tuple[str, ...], state_path: str | None, parallelism: int) -> object:
    """The forked child's work (`refresh_ahead.py`): a SQLite state found as `workspace` finds it
    (the parent compares the state and providers it used with its own before trusting anything)."""
    from pathlib import Path

    from reconciler.cli.project_options import chosen_selection
    from reconciler.state.locations import is_postgres_url, state_location
    from reconciler.wiring import WiringContext

    selection = chosen_selection(paths)
    manifest_paths = list(selection.manifest_paths) if selection is not None else list(paths)
    state = state_path or (selection.state if selection is not None else None)
    if not manifest_paths or (state is not None and is_postgres_url(str(state))):
        return None
    first = Path(manifest_paths[0])
    location = state_location(state, manifest_root=first if first.is_dir() else first.parent)
    assert location.path is not None
    wiring = WiringContext(sandbox_db=location.sandbox_db, parallelism=parallelism)
    return refresh_ahead.observe(location, str(location.path.resolve()), wiring, wiring.clock)


def _check_budget(plan: Plan, max_cost: tuple[float, str] | None, flag: str = "--max-cost") -> None:
    """Exit 3 when the plan's known cost is above --max-cost (or the project file's budget); say what
    was not counted."""
    if max_cost is None:
        return
    from reconciler.engine.costing import budget_note, budget_problem

    problem = budget_problem(plan.cost_total, *max_cost, flag=flag)
    note = budget_note(plan.cost_total, flag=flag)
    if note:
        click.echo(f"Note: {note}.", err=True)
    if problem:
        click.echo(f"Error: {problem}.", err=True)
        sys.exit(EXIT_OVER_BUDGET)


def _run_apply(
    paths: tuple[str, ...],
    state_path: str | None,
    plan_file: str | None,
    *,
    destroy: bool,
    auto_approve: bool,
    wait: bool,
    parallelism: int,
    lock_timeout: float,
    refresh: bool,
    allow_empty: bool = False,
    refresh_only: bool = False,
    targets: tuple[str, ...] = (),
    replaces: tuple[str, ...] = (),
    as_json: bool = False,
    log_level: str | None = None,
    log_file: str | None = None,
    max_cost: tuple[float, str] | None = None,
) -> None:
    prescan.start(paths, state_path)  # the dataset stat pass on the other core, before any thread
    malloc_arenas.limit()  # an apply runs threads: two malloc arenas, not up to eight per core
    stream = _stream() if as_json else None
    if stream is not None and not auto_approve and not plan_file:
        stream.error(
            "--json needs --auto-approve or a saved plan: there is no prompt in machine-readable mode"
        )
        sys.exit(EXIT_ERROR)
    with logging_to(log_level, log_file), json_errors(stream):
        _apply_with(
            paths,
            state_path,
            plan_file,
            destroy=destroy,
            auto_approve=auto_approve,
            wait=wait,
            parallelism=parallelism,
            lock_timeout=lock_timeout,
            refresh=refresh,
            allow_empty=allow_empty,
            targets=targets,
            replaces=replaces,
            stream=stream,
            max_cost=max_cost,
            refresh_only=refresh_only,
        )


def _stream() -> JsonStream:
    from reconciler.render.stream import JsonStream  # only --json needs it

    stream = JsonStream(sys.stdout, hint=hints.complete)
    stream.version()
    return stream


def _apply_with(
    paths: tuple[str, ...],
    state_path: str | None,
    plan_file: str | None,
    *,
    destroy: bool,
    auto_approve: bool,
    wait: bool,
    parallelism: int,
    lock_timeout: float,
    refresh: bool,
    allow_empty: bool,
    targets: tuple[str, ...],
    replaces: tuple[str, ...],
    stream: JsonStream | None,
    max_cost: tuple[float, str] | None,
    refresh_only: bool = False,
) -> None:
    from reconciler.workspace import OverBudget

    ws = workspace(paths, state_path, parallelism, allow_empty=allow_empty)
    if not destroy:
        ws.expect_uploads()  # before add_secrets loads the manifests
    add_secrets(ws)
    console = render.output_console()  # a pipe or CI log: plain lines, no rich imported for them
    saved: Plan | None = None
    if plan_file:
        saved = read_saved_plan(plan_file)
        if saved.operation == "destroy":
            destroy = True
        if refresh_only and saved.mode != "refresh-only":
            raise click.UsageError(f"{plan_file} is not a refresh-only plan; drop --refresh-only to apply it")
        if targets or replaces:
            raise click.UsageError(
                "--target and --replace shape a new plan; a saved plan was made with its own "
                "(plan again with them, or apply the saved plan without them)"
            )

    shown: list[bool] = []

    def confirm(plan: Plan) -> bool:
        complete_plan_hints(plan)
        shown.append(True)
        if stream is not None:
            stream.plan(plan)
        else:
            from reconciler.render.text import write_plan

            write_plan(console.file, plan)  # what print_plan(console) prints, without rich for a pipe
        if auto_approve or saved is not None:
            collector.resume()  # executing: per-request garbage from here on is collected
            return True
        if not sys.stdin.isatty():
            click.echo(
                "Refusing to apply without confirmation: stdin is not a terminal. "
                "Use --auto-approve, or save a plan with 'plan --out' and apply that file.",
                err=True,
            )
            return False
        verb = "destroy these resources" if destroy else "perform these actions"
        answer = click.prompt(
            f"Do you want to {verb}? Only 'yes' will be accepted", default="", show_default=False
        )
        collector.resume()
        return answer.strip() == "yes"

    with Interrupts() as interrupts:
        estimates: dict[str, float] = {}

        def view(plan: Plan) -> bool:
            estimates.update(ws.estimates(plan))
            if progress is not None:
                progress.estimates.update(estimates)
            return confirm(plan)

        progress = (
            None if stream is not None else render.RichProgress(console, ticker=True, hint=hints.complete)
        )
        from reconciler.workspace import StalePlanError

        try:
            plan, result = ws.apply(
                saved,
                destroy=destroy,
                confirm=view,
                wait=wait,
                progress=progress,
                stop=interrupts.stop,
                lock_timeout=lock_timeout,
                refresh=refresh,
                refresh_only=refresh_only,
                targets=targets,
                replace=replaces,
                on_event=stream,
                max_cost=max_cost,
            )
        except StalePlanError as e:  # say which file to make again, so the command works as printed
            raise StalePlanError(
                str(e).replace(
                    "'reconciler plan --out'", f"'reconciler plan --out {shlex.quote(plan_file or '')}'"
                )
            ) from None
        except OverBudget as over:
            if progress is not None:
                progress.close()
            if stream is not None:
                stream.plan(over.plan)
            else:
                render.print_plan(console, over.plan)
            _check_budget(over.plan, *ws.budget_for(max_cost))
            raise
        finally:
            if progress is not None:
                progress.close()
    operation = "destroy" if destroy else "apply"
    if stream is not None:
        if not shown:  # confirm is asked only when there are changes and no errors
            complete_plan_hints(plan)
            stream.plan(plan)
        if result is None:
            stream.plan_summary(plan)
            sys.exit(EXIT_ERROR if plan.errors else EXIT_OK)
        stream.apply_summary(result, operation)
        sys.exit(result.exit_code)
    if plan.errors:
        render.print_plan(console, plan)
        sys.exit(EXIT_ERROR)
    if result is None:
        if plan.has_changes:
            click.echo("Apply cancelled; nothing was changed.", err=True)
            sys.exit(EXIT_ERROR)
        render.print_plan(console, plan)
        sys.exit(EXIT_OK)
    for outcome in result.outcomes.values():  # the commands a failure suggests, with this run's -f
        outcome.message = hints.complete(outcome.message)
    render.print_apply_result(console, result, plan)
    if plan.targets:
        from reconciler.engine.targeting import APPLIED_WARNING

        click.echo(f"\nWarning: {APPLIED_WARNING}", err=True)
    sys.exit(result.exit_code)


@main.command("apply")
@manifest_options
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--no-wait", is_flag=True, help="Submit and return; the next apply continues where this one stopped."
)
@click.option(
    "--refresh",
    type=click.BOOL,
    default=True,
    show_default=True,
    metavar="BOOL",
    help="Read the providers before planning.",
)
@click.option(
    "--refresh-only",
    is_flag=True,
    help="Drift alone: compare the state with the providers, ignoring the manifests (apply: record it in "
    "the state; nothing on the providers changes).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print machine-readable lines, one JSON object each (plan, resource_start, progress, retry, "
    "finish, diagnostic, summary; see README). Needs --auto-approve or a saved plan.",
)
@targeting_options
@max_cost_option
@allow_empty_option
@parallelism_option
@lock_option
@log_options
@handle_errors
def apply_cmd(
    paths: tuple[str, ...],
    state_path: str | None,
    plan_file: str | None,
    auto_approve: bool,
    no_wait: bool,
    refresh: bool,
    refresh_only: bool,
    as_json: bool,
    targets: tuple[str, ...],
    replaces: tuple[str, ...],
    allow_empty: bool,
    parallelism: int,
    lock_timeout: float,
    log_level: str | None,
    log_file: str | None,
    max_cost: tuple[float, str] | None = None,
) -> None:
    """Make the providers match the manifests (or apply exactly a saved plan).

    \b
    Examples:
      reconciler apply -f manifests/quickstart --auto-approve
      reconciler apply -f manifests/ plan.json                # exactly the saved plan; refused if state moved
      reconciler apply -f manifests/ --no-wait                # submit training and return
      reconciler apply --env prod --refresh-only              # accept drift into the state
      reconciler apply -f manifests/ --replace Deployment/x --auto-approve
      reconciler apply -f manifests/ --json --auto-approve | jq -c .
      reconciler apply -f manifests/ --max-cost 50 --auto-approve   # exit 3, nothing applied, above $50
    """
    if refresh_only and not refresh:
        raise click.UsageError(
            "--refresh-only reads the providers: it cannot be combined with --refresh=false"
        )
    _run_apply(
        paths,
        state_path,
        plan_file,
        destroy=False,
        auto_approve=auto_approve,
        wait=not no_wait,
        parallelism=parallelism,
        lock_timeout=lock_timeout,
        refresh=refresh,
        allow_empty=allow_empty,
        refresh_only=refresh_only,
        targets=targets,
        replaces=replaces,
        as_json=as_json,
        log_level=log_level,
        log_file=log_file,
        max_cost=max_cost,
    )


@main.command("destroy")
@manifest_options
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@parallelism_option
@lock_option
@handle_errors
def destroy_cmd(
    paths: tuple[str, ...], state_path: str | None, auto_approve: bool, parallelism: int, lock_timeout: float
) -> None:
    """Delete everything the state manages, dependents first (lifecycle.deletion: retain is only forgotten).

    \b
    Example:
      reconciler destroy -f manifests/quickstart --auto-approve
    """
    _run_apply(
        paths,
        state_path,
        None,
        destroy=True,
        auto_approve=auto_approve,
        wait=True,
        parallelism=parallelism,
        lock_timeout=lock_timeout,
        refresh=True,
    )


@main.command("refresh")
@manifest_options
@parallelism_option
@lock_option
@handle_errors
def refresh_cmd(
    paths: tuple[str, ...], state_path: str | None, parallelism: int, lock_timeout: float
) -> None:
    """Update the state cache from the providers (and adopt objects found by fingerprint). Changes nothing remote.

    \b
    Example:
      reconciler refresh -f manifests/quickstart
    """
    summary = workspace(paths, state_path, parallelism).refresh(lock_timeout=lock_timeout)
    click.echo(f"Refreshed {summary.refreshed} resource(s).")
    for a in summary.adopted:
        click.echo(f"  adopted {a} (found on the provider by fingerprint)")
    for a in summary.gone:
        click.echo(f"  {a}: no longer exists on the provider (the next plan re-creates it)")
    for d in summary.diagnostics:
        click.echo(f"Error: {hints.complete(d)}", err=True)
    sys.exit(EXIT_ERROR if summary.diagnostics else EXIT_OK)


@main.command("import")
@manifest_options
@click.argument("address")
@click.argument("remote_id")
@lock_option
@handle_errors
def import_cmd(
    paths: tuple[str, ...], state_path: str | None, address: str, remote_id: str, lock_timeout: float
) -> None:
    """Adopt an existing provider object into state as ADDRESS (Kind/name, declared in the manifests).

    \b
    REMOTE_ID by kind (DashScope): Dataset = file id, FineTune = job id,
    CheckpointExport = JOB_ID:CHECKPOINT, Deployment = deployed_model.
    Example:
      reconciler import -f manifests/quickstart FineTune/money-rain ft-202611221122-ab12
    """
    record = workspace(paths, state_path).import_resource(address, remote_id, lock_timeout=lock_timeout)
    click.echo(f"Imported {record.address} ({record.remote_id}, {record.status}).")


@main.command("force-unlock")
@manifest_options
@click.argument("lock_id", required=False)
@handle_errors
def force_unlock_cmd(paths: tuple[str, ...], state_path: str | None, lock_id: str | None) -> None:
    """Clear a stale state lock left by a process that is gone.

    A live holder on this host cannot be unlocked (its lock dies with it). Example:
      reconciler force-unlock -f manifests/quickstart 6f1c…
    """
    info = workspace(paths, state_path).force_unlock(lock_id)
    click.echo(
        "No lock was held."
        if info is None
        else f"Unlocked (was held by {info.owner}, pid {info.pid} on {info.host})."
    )
