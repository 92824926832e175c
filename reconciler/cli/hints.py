"""Every command the CLI suggests must work as printed: the suggestion gets this run's `-f`/`--state`.

The library words its advice as commands (`'reconciler state rm Deployment/x'`) without knowing
how the manifests were named on this command line. Before a message is printed, each quoted
`'reconciler SUBCOMMAND …'` that takes manifests, and does not name its own, gets the `-f`,
`--state` and `--workspace` flags this invocation was given, so it can be pasted as is.
"""

from __future__ import annotations

import re
import shlex

import click

from reconciler.cli.project_options import project_flags

# subcommands (and `state` subcommands) that take -f/--state/--workspace
_TAKES_MANIFESTS = {
    "plan",
    "apply",
    "destroy",
    "refresh",
    "import",
    "force-unlock",
    "output",
    "graph",
    "show",
    "state list",
    "state show",
    "state rm",
    "state mv",
    "state resolve",
    "state migrate",
    "state claim",
}
_QUOTED = re.compile(r"'reconciler ((?:state )?[a-z-]+)([^']*)'")


def invocation_flags(ctx: click.Context | None = None) -> list[str]:
    """The manifest flags of the running command, as argv words (empty outside a command)."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return []
    params = ctx.params
    words: list[str] = []
    for path in params.get("paths") or ():
        words += ["-f", str(path)]
    words += project_flags(ctx)  # --project / --env, when they chose the manifests
    state = params.get("state_path")
    if state and ctx.get_parameter_source("state_path") is click.core.ParameterSource.COMMANDLINE:
        words += ["--state", str(state)]
    name, from_env = ctx.meta.get("reconciler.workspace", (None, False))
    if name and not from_env:
        words += ["--workspace", str(name)]
    return words


def complete(text: str, flags: list[str] | None = None) -> str:
    """`text` with each quoted reconciler command given this run's manifest flags."""
    if "'reconciler " not in text:  # (asked first: most texts suggest no command, e.g. a no-op's reason)
        return text
    words = invocation_flags() if flags is None else flags
    if not words:
        return text
    joined = " ".join(shlex.quote(w) for w in words)

    def fill(match: re.Match[str]) -> str:
        sub, rest = match.group(1), match.group(2)
        if sub not in _TAKES_MANIFESTS or re.search(r"(^|\s)(-f|--filename|--env|--project)(\s|=)", rest):
            return match.group(0)
        return f"'reconciler {sub} {joined}{rest}'"

    return _QUOTED.sub(fill, text)


def command(*words: str, flags: list[str] | None = None) -> str:
    """A suggested command line: `reconciler WORDS… -f …` (shell-quoted)."""
    extra = invocation_flags() if flags is None else flags
    head = 2 if words[:1] == ("state",) else 1
    return "reconciler " + " ".join(shlex.quote(w) for w in [*words[:head], *extra, *words[head:]])


__all__ = ["command", "complete", "invocation_flags"]
