"""`reconciler state claim`: hand a state to this manifest set on purpose.

A state records which manifest set (or environment) it belongs to, and refuses another
(`state/ownership.py`). When manifests were renamed or moved on purpose, this records the current
set as the owner, so the next commands run on it.
"""

from __future__ import annotations

import click

from reconciler.cli.common import handle_errors, lock_option, manifest_options, workspace
from reconciler.cli.state_cmds import state_group


@state_group.command("claim")
@manifest_options
@lock_option
@handle_errors
def state_claim(paths: tuple[str, ...], state_path: str | None, lock_timeout: float) -> None:
    """Record these manifests (or this environment) as the state's owner, replacing the previous one.

    \b
    Examples:
      reconciler state claim -f manifests/prod        # after renaming manifests/production
      reconciler state claim --env prod
    """
    ws = workspace(paths, state_path)
    previous = ws.claim_state(lock_timeout=lock_timeout)
    was = f" (it belonged to {previous.describe()})" if previous is not None and previous != ws.owner else ""
    click.echo(f"The state at {ws.state_display} now belongs to {ws.owner.describe()}{was}.")
