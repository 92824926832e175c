"""Terraform's single-dash flags (`-detailed-exitcode`, `-out=plan.json`, `-auto-approve`…) work here.

Terraform spells every long flag with one dash; click reads `-detailed-exitcode` as `-d` plus
junk. Before click parses, each `-NAME` or `-NAME=VALUE` whose `--NAME` is an option of some
reconciler command (read from the click tree) is rewritten to `--NAME…`. A Terraform flag reconciler has no equivalent for gets a one-line hint
saying what to do instead (never a bare "No such option '-i'"). `--` ends the rewriting.
"""

from __future__ import annotations

import re

import click


def long_options(command: click.Command) -> frozenset[str]:
    """Every `--NAME` any command in the tree takes (read from click, so a new option is included)."""
    names = {o[2:] for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            names |= long_options(sub)
    return frozenset(names)


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


def rewrite(args: list[str], known: frozenset[str]) -> list[str]:
    """`args` with each `-NAME[=VALUE]` whose `--NAME` is in `known` spelled `--NAME[=VALUE]`."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        match = _SINGLE.match(arg)
        if match is None:
            out.append(arg)
            continue
        name, value = match.group(1), match.group(2) or ""
        if name in known:
            out.append(f"--{name}{value}")
        elif name in TERRAFORM_ONLY:
            raise click.UsageError(f"{arg}: {TERRAFORM_ONLY[name]}")
        else:
            out.append(arg)  # click reports it (a short-option cluster, or a typo)
    return out


class TerraformSpellings(click.Group):
    """The root group: rewrites Terraform's spellings before any command parses its arguments."""

    _known: frozenset[str] | None = None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if self._known is None:
            self._known = long_options(self) | {"help", "version"}
        return super().parse_args(ctx, rewrite(list(args), self._known))


__all__ = ["TERRAFORM_ONLY", "TerraformSpellings", "long_options", "rewrite"]
