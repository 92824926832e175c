"""Where a state lives: a SQLite file, or a PostgreSQL database and a workspace in it.

`--state` (or `RECONCILER_STATE`) is either a file path or a `postgresql://USER@HOST:PORT/DB`
URL. One database holds many manifest sets, each in its own *workspace* (a name), so they never
see or prune each other's resources (DESIGN.md §7). The default workspace is derived from the
manifest root so that every clone of a repository agrees on it: inside a git repository it is
`<repository directory name>/<root relative to it>` (`reconciler/manifests/quickstart`), outside
one it is the root's absolute path (which no other machine shares: name a workspace explicitly
with `--workspace` to share it).

A URL may carry a password (`user:secret@host`), but it must never be shown: `display` and
`scrub_url` replace it with `***`, and so does everything that prints a location. The password
comes, in libpq's order, from the URL, `?password_env=VAR` (a variable the user names), then
`PGPASSWORD` and `~/.pgpass`, read when connecting (`reconciler.state.postgres`).

Nothing here opens a connection or imports a driver: this module only parses and names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reconciler.state.interface import StateError
from reconciler.state.sqlite import default_state_path

POSTGRES_SCHEMES = ("postgresql", "postgres")
WORKSPACE_MAX = 200
_SECRET_PARAMS = frozenset({"password", "sslpassword"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_postgres_url(text: str | os.PathLike[str] | None) -> bool:
    return isinstance(text, str) and text.split("://", 1)[0].lower() in POSTGRES_SCHEMES and "://" in text


def scrub_url(url: str) -> str:
    """`postgresql://ana:s3cret@db/x?password=y` -> `postgresql://ana:***@db/x?password=***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*/:")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def url_password(url: str) -> str | None:
    """The password written into a URL (userinfo or `?password=`), to scrub it from any message."""
    try:
        parts = urlsplit(url)
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key.lower() == "password" and value:
                return value
        return parts.password
    except ValueError:
        return None


def check_workspace_name(name: str) -> str:
    if not name or not name.strip():
        raise StateError("the workspace name is empty; give --workspace NAME (e.g. team-a/prod)")
    if len(name) > WORKSPACE_MAX or _CONTROL.search(name):
        raise StateError(
            f"workspace name {name[:40]!r}… must be at most {WORKSPACE_MAX} printable characters"
        )
    return name


def repository_top(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():  # a directory, or a file in worktrees and submodules
            return candidate
    return None


def derive_workspace_name(manifest_root: Path) -> str:
    """The default workspace of a manifest root (see the module docstring)."""
    root = manifest_root.resolve()
    top = repository_top(root)
    if top is None:
        return root.as_posix()
    relative = root.relative_to(top).as_posix()
    return top.name if relative == "." else f"{top.name}/{relative}"


@dataclass(frozen=True)
class StateLocation:
    """A SQLite file (`path`) or a PostgreSQL URL and workspace. `display` is safe to print."""

    path: Path | None = None
    url: str | None = None
    workspace: str | None = None

    @property
    def is_postgresql(self) -> bool:
        return self.url is not None

    @property
    def display(self) -> str:
        if self.url is not None:
            return f"{scrub_url(self.url)} (workspace {self.workspace})"
        assert self.path is not None
        return str(self.path)

    @property
    def sandbox_db(self) -> Path | None:
        """Where the sandbox's database goes by default when it is not beside a state file."""
        return None if self.path is None else self.path.parent / "sandbox.db"


def state_location(
    state: str | Path | None, *, manifest_root: Path, workspace: str | None = None
) -> StateLocation:
    """Resolve `--state` / `--workspace` (already merged with their environment variables by the caller)."""
    text = str(state) if state is not None and str(state) != "" else None
    if text is not None and is_postgres_url(text):
        name = (
            check_workspace_name(workspace)
            if workspace is not None
            else derive_workspace_name(manifest_root if manifest_root.is_dir() else manifest_root.parent)
        )
        return StateLocation(url=text, workspace=name)
    if text is not None and "://" in text:
        raise StateError(f"--state {scrub_url(text)}: only postgresql:// URLs or file paths name a state")
    if workspace is not None:
        raise StateError(
            f"--workspace {workspace} applies to a PostgreSQL state (--state postgresql://…); a SQLite "
            "state file holds one manifest set: give another --state path instead"
        )
    return StateLocation(path=Path(text) if text is not None else default_state_path(manifest_root))


__all__ = [
    "StateLocation",
    "default_state_path",
    "derive_workspace_name",
    "is_postgres_url",
    "repository_top",
    "scrub_url",
    "state_location",
    "url_password",
]
