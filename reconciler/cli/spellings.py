"""Terraform's single-dash flags (`-detailed-exitcode`, `-out=plan.json`, `-auto-approve`…) work here.

Terraform spells every long flag with one dash; click reads `-detailed-exitcode` as `-d` plus
junk. Before click parses, each `-NAME` or `-NAME=VALUE` whose `--NAME` is a reconciler option is
rewritten to `--NAME…`. A Terraform flag reconciler has no equivalent for gets a one-line hint
saying what to do instead (never a bare "No such option '-i'"). `--` ends the rewriting.
"""

from __future__ import annotations

import re

import click

# every long option a reconciler command takes (the rewrite only touches these)
LONG_OPTIONS = frozenset(
    {
        "allow-empty",
        "auto-approve",
        "debug",
        "destroy",
        "detailed-exitcode",
        "download",
        "filename",
        "format",
        "help",
        "json",
        "lock-timeout",
        "log-file",
        "log-level",
        "markdown",
        "no-wait",
        "out",
        "parallelism",
        "refresh",
        "replace",
        "state",
        "target",
        "to",
        "to-workspace",
        "version",
        "workspace",
    }
)

# Terraform flags with no reconciler equivalent: what to do instead
TERRAFORM_ONLY = {
    "input": "reconciler never prompts when stdin is not a terminal: drop -input",
    "lock": "reconciler always locks the state; drop -lock (use --lock-timeout SECONDS to wait for a lock)",
    "no-color": "set NO_COLOR=1 instead of -no-color (colour is used only on a terminal anyway)",
    "var": "reconciler has no -var; values come from the manifests (and their environment, if any)",
    "var-file": "reconciler has no -var-file; values come from the manifests (and their environment, if any)",
    "compact-warnings": "drop -compact-warnings; reconciler prints each warning on one line",
    "chdir": "reconciler has no -chdir; name the manifests with -f PATH",
    "backend-config": "reconciler has no backends; choose the state with --state PATH|URL",
}

_SINGLE = re.compile(r"^-([a-z][a-z-]+)(=.*)?$", re.DOTALL)


def rewrite(args: list[str]) -> list[str]:
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        match = _SINGLE.match(arg)
        if match is None:
            out.append(arg)
            continue
        name, value = match.group(1), match.group(2) or ""
        if name in LONG_OPTIONS:
            out.append(f"--{name}{value}")
        elif name in TERRAFORM_ONLY:
            raise click.UsageError(f"{arg}: {TERRAFORM_ONLY[name]}")
        else:
            out.append(arg)  # click reports it (a short-option cluster, or a typo)
    return out


class TerraformSpellings(click.Group):
    """The root group: rewrites Terraform's spellings before any command parses its arguments."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, rewrite(list(args)))


__all__ = ["LONG_OPTIONS", "TERRAFORM_ONLY", "TerraformSpellings", "rewrite"]
