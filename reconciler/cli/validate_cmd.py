"""`reconciler validate`: load manifests, report every problem, write nothing.

A thin wrapper over `reconciler.loading.load`. Exit 0 when valid (warnings are printed), 1 when
any error was found. Diagnostics go to stderr, one per line, in source order:
`file:line:col: Kind/name: field: message`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from reconciler.cli.app import main
from reconciler.cli.project_options import project_given, project_options
from reconciler.cli.project_validate import validate_project
from reconciler.models.kinds import API_VERSION, Kind

if TYPE_CHECKING:
    from reconciler.loading import LoadResult
    from reconciler.models.diagnostics import Diagnostic


@main.command("validate")
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    metavar="PATH",
    help="A manifest file or a directory (searched recursively for *.yaml/*.yml). Repeatable. "
    "Default: the manifests reconciler.yaml lists (every environment, unless --env names one).",
)
@project_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option(
    "--show-effective",
    is_flag=True,
    help="Print every resource with all defaults applied, as YAML (as JSON with --json).",
)
@click.option("--skip-data", is_flag=True, help="Do not read local datasets (no hashing, no layout checks).")
def validate(paths: tuple[str, ...], as_json: bool, show_effective: bool, skip_data: bool) -> None:
    """Check manifests offline: schema, limits, references, cycles and local datasets.

    \b
    Examples:
      reconciler validate -f manifests/quickstart
      reconciler validate -f providers.yaml -f jobs/ --json
      reconciler validate -f manifests/quickstart --show-effective
    """
    from reconciler.loading.loader import in_source_order, load
    from reconciler.prune_guard import near_miss_warnings

    if not paths or project_given():
        validate_project(paths, as_json, show_effective, skip_data)  # reconciler.yaml, each environment
    result = load(list(paths), check_data=not skip_data)
    result.diagnostics.extend(near_miss_warnings(result.near_misses))  # e.g. money-rain.YAML
    diagnostics = in_source_order(list(result.diagnostics))
    errors = [d for d in diagnostics if d.severity.value == "error"]
    warnings = [d for d in diagnostics if d.severity.value == "warning"]
    if as_json:
        click.echo(json.dumps(json_report(result, errors, warnings, show_effective), indent=2))
    else:
        for d in diagnostics:
            click.echo(str(d), err=True)
        if show_effective and not errors:
            click.echo(effective_yaml(result), nl=False)
        click.echo(summary(result, len(errors), len(warnings)), err=bool(errors) or show_effective)
    raise SystemExit(1 if errors else 0)


def summary(result: LoadResult, errors: int, warnings: int) -> str:
    files = len(result.manifests.files)
    text = f"{_count(errors, 'error')}, {_count(warnings, 'warning')} in {_count(files, 'file')}"
    if not errors:
        m = result.manifests
        text += f": {_count(len(m.providers), 'provider')}, {_count(len(m.resources), 'resource')} valid"
    return text


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def json_report(
    result: LoadResult, errors: list[Diagnostic], warnings: list[Diagnostic], show_effective: bool
) -> dict[str, Any]:
    m = result.manifests
    resources: list[dict[str, Any]] = []
    for name, provider in sorted(m.providers.items()):
        entry: dict[str, Any] = {
            "address": f"{Kind.PROVIDER.value}/{name}",
            "kind": Kind.PROVIDER.value,
            "name": name,
            "provider_type": provider.type,
            "location": str(provider.location) if provider.location else None,
        }
        if show_effective:
            entry["effective_spec"] = provider.spec.model_dump(mode="json")
        resources.append(entry)
    for address in m.topological_order():
        r = m.resources[address]
        entry = {
            "address": address,
            "kind": r.kind.value,
            "name": r.name,
            "provider": r.provider_name,
            "provider_type": r.provider_type,
            "location": str(r.location) if r.location else None,
            "depends_on": r.dependencies(),
        }
        if r.content is not None:
            entry["content"] = {
                "digest": r.content.digest,
                "files": len(r.content.files),
                "samples": r.content.sample_count,
                "bytes": r.content.total_bytes,
            }
        if show_effective:
            entry["effective_spec"] = r.effective_spec()
        resources.append(entry)
    return {
        "valid": not errors,
        "errors": [d.to_dict() for d in errors],
        "warnings": [d.to_dict() for d in warnings],
        "resources": resources,
    }


def effective_yaml(result: LoadResult) -> str:
    """Every valid document with defaults applied, in dependency order, as multi-document YAML."""
    m = result.manifests
    docs: list[dict[str, Any]] = []
    for name, provider in sorted(m.providers.items()):
        docs.append(
            {
                "apiVersion": API_VERSION,
                "kind": Kind.PROVIDER.value,
                "metadata": {"name": name},
                "spec": provider.spec.model_dump(mode="json"),
            }
        )
    for address in m.topological_order():
        r = m.resources[address]
        metadata: dict[str, Any] = {"name": r.name}
        if r.labels:
            metadata["labels"] = r.labels
        docs.append(
            {
                "apiVersion": API_VERSION,
                "kind": r.kind.value,
                "metadata": metadata,
                "spec": r.effective_spec(),
                "lifecycle": r.lifecycle.model_dump(mode="json"),
            }
        )
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump_all(docs, Dumper=dumper, sort_keys=False, explicit_start=True, allow_unicode=True)
