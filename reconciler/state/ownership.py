"""Which manifest set a state belongs to, so that two sets never share (and prune) one state.

Before this, `-f shared -f envs/dev` and `-f shared -f envs/prod` silently used the same state
(the first `-f` picks its directory), and each apply planned to delete the other's resources.
Now the first write records the *owner* of the state — an environment of a project, or a set of
`-f` paths — and every later command compares it with its own and refuses a different one,
saying which flag or project-file key separates them.

The owner is an event under the reserved address `OWNER_ADDRESS` in the state's append-only event
log, not a new column: both stores already keep, index and migrate events, and recording it does
not move the serial (saved plans stay valid). The last such event wins, so `reconciler state
claim` can hand a state to a renamed manifest set on purpose.

Paths are named as the PostgreSQL workspace names them (`<repository>/<path in it>`), so every
clone of a repository agrees. An `-f` set may grow or shrink (a directory added or dropped is an
edit of one set, and the plan shows what it deletes); two sets that each have a path the other
lacks are two manifest sets.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.state.interface import StateError, StateStore
from reconciler.state.locations import derive_workspace_name, repository_top

OWNER_ADDRESS = "reconciler:owner"
OWNER_EVENT = "owner"


@dataclass(frozen=True)
class Owner:
    """An environment of a project (`environment` may be None: a project without environments),
    or a set of manifest paths given with `-f`."""

    project: str | None = None
    environment: str | None = None
    paths: tuple[str, ...] = ()

    # where relative `paths` start from (display only: not part of the identity)
    relative_to: str | None = field(default=None, compare=False)

    @classmethod
    def of_paths(cls, paths: Iterable[Path], state_file: Path | None = None) -> Owner:
        """How a set of `-f` paths is named, so that a tree copied or moved with its state is still
        the same set: relative to the state file's manifest root; on PostgreSQL as its workspace
        names them (`<repository>/<path in it>`), or, outside a repository, relative to the first
        manifest root."""
        given = list(paths)
        if state_file is not None:
            base: Path | None = state_root(state_file)
        else:
            first = given[0] if given else Path(".")
            root = first if first.is_dir() else first.parent
            base = None if repository_top(root.resolve()) is not None else root.resolve()
        if base is None:
            return cls(paths=tuple(sorted({derive_workspace_name(p) for p in given})))
        names = {Path(os.path.relpath(p.resolve(), base)).as_posix() for p in given}
        return cls(paths=tuple(sorted(names)), relative_to=str(base))

    @classmethod
    def of_project(cls, root: Path, environment: str | None) -> Owner:
        return cls(project=derive_workspace_name(root), environment=environment)

    def to_dict(self) -> dict[str, Any]:
        if self.project is not None:
            return {"project": self.project, "environment": self.environment}
        return {"paths": list(self.paths)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Owner | None:
        if isinstance(data.get("project"), str):
            env = data.get("environment")
            return cls(project=data["project"], environment=env if isinstance(env, str) else None)
        paths = data.get("paths")
        if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
            return cls(paths=tuple(paths))
        return None

    def describe(self) -> str:
        if self.project is not None:
            return (
                f"environment '{self.environment}' of project {self.project}"
                if self.environment is not None
                else f"project {self.project}"
            )
        return "the manifests " + ", ".join(self.paths)

    def compatible(self, recorded: Owner) -> bool:
        """The same owner; for `-f` sets, one set grown or shrunk (not two different sets)."""
        if self.project is not None or recorded.project is not None:
            return (self.project, self.environment) == (recorded.project, recorded.environment)
        mine, theirs = set(self.paths), set(recorded.paths)
        return mine <= theirs or theirs <= mine


def state_root(state_file: Path) -> Path:
    """`<root>/.reconciler/state.db` -> `<root>`; any other state file -> its directory."""
    directory = state_file.resolve().parent
    return directory.parent if directory.name == ".reconciler" else directory


def recorded_owner(store: StateStore) -> Owner | None:
    events = store.events(OWNER_ADDRESS, limit=1)
    return Owner.from_dict(events[-1].detail) if events else None


def check_owner(store: StateStore, owner: Owner, *, location: str, separate: Callable[[Owner], str]) -> None:
    """Refuse a state that belongs to another manifest set; record `owner` on a writable store.

    `separate(recorded)` says how to give this manifest set its own state (it names the flag or
    project-file key); `location` is where the state is (safe to print).
    """
    recorded = recorded_owner(store)
    if recorded is not None and not owner.compatible(recorded):
        raise StateError(
            f"the state at {location} belongs to {recorded.describe()}, not to {owner.describe()}"
            + (f" (paths relative to {owner.relative_to})" if owner.relative_to and not owner.project else "")
            + "; "
            f"sharing it would make each plan delete the other's resources. {separate(recorded)}"
        )
    if not store.readonly and recorded != owner:
        claim(store, owner)  # a plan (read-only) records nothing: the first write does


def claim(store: StateStore, owner: Owner) -> None:
    store.append_event(OWNER_EVENT, OWNER_ADDRESS, owner.to_dict())


__all__ = ["OWNER_ADDRESS", "Owner", "check_owner", "claim", "recorded_owner"]
