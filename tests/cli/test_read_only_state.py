"""A read-only state (its file, or its `.reconciler/` directory): one line naming the path and what to do.

Commands that write the state (apply, destroy, refresh, import, state rm) refuse in one line and
change nothing; `plan` only reads the state, so it still works when its providers do not need the
directory (the embedded sandbox keeps its own database there, and says so).

Permissions do not stop root, so for root `read_only` makes SQLite open the files read-only and
`os.access` report them so: the errors are SQLite's own, as a normal user gets them from chmod.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.clock import FakeClock
from reconciler.sandbox import Sandbox
from reconciler.state.interface import StateError
from reconciler.wiring import WiringContext
from reconciler.workspace import Workspace

ReadOnly = Callable[[Path], None]


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReadOnly]:
    restore: list[tuple[Path, int]] = []
    blocked: list[Path] = []

    def is_blocked(path: Path) -> bool:
        path = Path(path).absolute()
        return any(path == b or b in path.parents for b in blocked)

    real_connect, real_access = sqlite3.connect, os.access

    def connect(database: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        if (
            not kwargs.get("uri")
            and isinstance(database, str)
            and database != ":memory:"
            and is_blocked(Path(database))
        ):
            database, kwargs["uri"] = f"file:{quote(str(Path(database).absolute()))}?mode=ro", True
        return real_connect(database, *args, **kwargs)  # type: ignore[arg-type]

    def access(path: object, mode: int, **kwargs: object) -> bool:
        if mode & os.W_OK and is_blocked(Path(str(path))):
            return False
        return real_access(path, mode, **kwargs)  # type: ignore[arg-type]

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            restore.append((path, path.stat().st_mode))
            path.chmod(path.stat().st_mode & ~0o222)
            return
        if not blocked:
            monkeypatch.setattr(sqlite3, "connect", connect)
            monkeypatch.setattr(os, "access", access)
        blocked.append(path.absolute())

    yield make
    for path, mode in reversed(restore):
        path.chmod(mode)


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch, example_copy: Callable[..., Path]) -> Path:
    monkeypatch.setenv("RECONCILER_SANDBOX_TIME_SCALE", "1e9")
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    root = example_copy("manifests/quickstart")
    r = run("apply", "-f", str(root), "--auto-approve")
    assert r.exit_code == 0, r.output
    return root


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def state_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in sorted((root / ".reconciler").iterdir()) if p.name.startswith("state")
    }


def one_error_line(r: Result) -> str:
    lines = r.stderr.splitlines()
    assert r.exit_code == 1, r.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert "Traceback" not in r.output and "Internal error" not in r.output
    return lines[0]


WRITERS = {
    "apply": ("apply", "--auto-approve"),
    "destroy": ("destroy", "--auto-approve"),
    "refresh": ("refresh",),
    "import": ("import", "FineTune/money-rain", "ft-20260101000000-0000"),
    "state rm": ("state", "rm", "Deployment/money-rain"),
}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_read_only_state_file_is_one_line_naming_it(applied: Path, read_only: ReadOnly, command: str):
    state = applied / ".reconciler" / "state.db"
    before = state_bytes(applied)
    read_only(state)
    cmd, *rest = WRITERS[command]
    if cmd == "state":
        line = one_error_line(run("state", rest[0], "-f", str(applied), *rest[1:]))
    else:
        line = one_error_line(run(cmd, "-f", str(applied), *rest))
    assert line.startswith(
        f"Error: state {state} cannot be written (attempt to write a readonly database); "
        f"the file is read-only: make it writable (chmod u+w {state})."
    ), line
    assert state_bytes(applied) == before


def test_plan_works_with_a_read_only_state_file_and_changes_no_byte(applied: Path, read_only: ReadOnly):
    before = state_bytes(applied)
    read_only(applied / ".reconciler" / "state.db")
    r = run("plan", "-f", str(applied), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "No changes" in r.output
    assert state_bytes(applied) == before


@pytest.mark.parametrize("command", ["apply", "destroy", "refresh", "import"])
def test_a_read_only_state_directory_with_the_sandbox_in_it_is_one_line(
    applied: Path, read_only: ReadOnly, command: str
):
    directory = applied / ".reconciler"
    before = state_bytes(applied)
    read_only(directory)
    cmd, *rest = WRITERS[command]
    line = one_error_line(run(cmd, "-f", str(applied), *rest))
    # Whichever database is opened first says it: the sandbox's (a real chmod: its WAL files cannot be
    # created) or the state's. Both name the directory and what to do.
    assert (
        f"{directory} writable" in line or f"make the directory writable (chmod u+w {directory})" in line
    ), line
    assert state_bytes(applied) == before


def test_state_rm_in_a_read_only_state_directory_names_the_directory(applied: Path, read_only: ReadOnly):
    directory = applied / ".reconciler"
    read_only(directory)
    line = one_error_line(run("state", "rm", "-f", str(applied), "Deployment/money-rain"))
    assert f"its directory {directory} is read-only" in line and f"chmod u+w {directory}" in line
    r = run("plan", "-f", str(applied), "--refresh=false", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "Deployment/money-rain" in run("state", "list", "-f", str(applied)).output


def test_plan_against_providers_outside_a_read_only_directory_works(
    example_copy: Callable[..., Path], read_only: ReadOnly
):
    """What a real provider sees: nothing of it lives in `.reconciler/`, so plan only reads there."""
    root = example_copy("manifests/quickstart")
    clock = FakeClock()
    sandbox = Sandbox(clock=clock, seed=7)  # in memory, not in .reconciler/

    def workspace() -> Workspace:
        return Workspace([root], clock=clock, wiring=WiringContext(env={}, clock=clock, sandbox=sandbox))

    workspace().apply()
    before = state_bytes(root)
    read_only(root / ".reconciler")
    (root / "money-rain.yaml").write_text(
        (root / "money-rain.yaml").read_text().replace("n_epochs: 150", "n_epochs: 200")
    )
    assert workspace().plan().has_changes
    assert state_bytes(root) == before
    with pytest.raises(StateError, match=r"its directory .* is read-only.*chmod u\+w"):
        workspace().apply()
    assert state_bytes(root) == before


def test_a_sandbox_database_that_cannot_be_created_is_one_line(
    example_copy: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
):
    """No permission needed to see this one: a file stands where the state's directory would be."""
    monkeypatch.setenv("NO_COLOR", "1")
    root = example_copy("manifests/quickstart")
    blocker = root / "money-rain.yaml"
    state = blocker / "state" / "state.db"
    line = one_error_line(run("plan", "-f", str(root), "--state", str(state)))
    assert (
        line == f"Error: cannot read the state {state}: Not a directory; check its permissions, or the path "
        "given with --state"
    )
    line = one_error_line(run("apply", "-f", str(root), "--state", str(state), "--auto-approve"))
    assert line == (
        f"Error: the sandbox database {blocker / 'state' / 'sandbox.db'} cannot be created "
        f"(Not a directory): {blocker} is a file, not a directory; keep the state (and the sandbox "
        "beside it) elsewhere with --state PATH"
    )
