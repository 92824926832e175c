"""Fixtures every test directory shares.

`example_copy` is the one way tests use the example manifest sets: a copy in the test's own
temporary directory, without the `.reconciler/` state a user leaves behind by running the README's
quickstart in this checkout (tests must pass after it; `test_example_copies.py` keeps it so).

A real PostgreSQL server, and databases and workspaces in it: the server is
`RECONCILER_TEST_POSTGRES_URL` when set (`.ci/run` starts one and exports it, with `PGPASSFILE`),
else one this session starts itself (`postgres_server.py`: initdb into a temp directory, pg_ctl on a
free loopback port, stopped at the end). No mocks: every PostgreSQL test talks to a real server.
Without PostgreSQL (no binaries, no psycopg) those tests are skipped on a developer's machine, and
fail under `CI` (set by `.ci/run`): CI must never pass by skipping them. Isolation: each
pytest-xdist worker gets its own database, each test its own workspace in it (`pg_workspace`); a
test that needs a pristine database (schema creation, migrations) gets one of its own
(`pg_fresh_database`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import postgres_server
import pytest

REPO = Path(__file__).resolve().parents[1]
LEFT_OUT = shutil.ignore_patterns(".reconciler")


@pytest.fixture
def example_copy(tmp_path: Path) -> Callable[..., Path]:
    """`example_copy("manifests/quickstart", "qs")` -> tmp_path/qs, a copy without any `.reconciler/`.

    The example is relative to the repository (an absolute path is copied as it is).
    """

    def copy(example: str | Path, name: str | None = None) -> Path:
        source = REPO / example
        target = tmp_path / (name or source.name)
        shutil.copytree(source, target, ignore=LEFT_OUT)
        return target

    return copy


# -- PostgreSQL ------------------------------------------------------------------------------------

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL tests cannot run in CI: {why}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {why}")


@dataclass
class PostgresServer:
    """A running server: `url(db)` has no password (libpq finds it via PGPASSFILE or PGPASSWORD)."""

    base_url: str
    local: postgres_server.Server | None = None  # set when this session started it

    def password(self) -> str:
        """The server's password, for the tests of passwords given in a URL or a named variable."""
        if self.local is not None:
            return self.local.password
        from reconciler.state.locations import url_password

        found = url_password(self.base_url) or os.environ.get("PGPASSWORD")
        parts = urlsplit(self.base_url)
        pgpass = os.environ.get("PGPASSFILE")
        if not found and pgpass and os.path.exists(pgpass):
            for line in Path(pgpass).read_text(encoding="utf-8").splitlines():
                host, port, _db, user, secret = (line.split(":", 4) + [""] * 5)[:5]
                if (
                    host in ("*", parts.hostname)
                    and port in ("*", str(parts.port or 5432))
                    and user in ("*", parts.username)
                ):
                    found = secret
                    break
        if not found:
            _unavailable("the server's password is not known (put it in PGPASSFILE or PGPASSWORD)")
        return found

    def url(self, database: str) -> str:
        return urlunsplit(urlsplit(self.base_url)._replace(path=f"/{database}"))

    def admin(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(self.url(database), autocommit=True)

    def create_database(self, prefix: str = "t", **options: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        extra = "".join(f" {k} {v}" for k, v in options.items())
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"{extra}')
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[test]')")
    url = os.environ.get("RECONCILER_TEST_POSTGRES_URL")
    if url:
        yield PostgresServer(url)
        return
    if postgres_server.find_bin() is None:
        _unavailable(
            "no initdb/pg_ctl in /usr/lib/postgresql/*/bin (apt-get install postgresql), and "
            "RECONCILER_TEST_POSTGRES_URL is not set"
        )
    server = postgres_server.start()
    previous = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(server.pgpass)  # subprocesses (the CLI, lock holders) inherit it
    try:
        yield PostgresServer(server.url(), local=server)
    finally:
        if previous is None:
            os.environ.pop("PGPASSFILE", None)
        else:
            os.environ["PGPASSFILE"] = previous
        postgres_server.remove(server)


@pytest.fixture(scope="session")
def pg_database(postgres: PostgresServer, worker_id: str) -> Iterator[str]:
    """A database of this worker's own (URL); every test uses its own workspace in it."""
    name = postgres.create_database(f"reconciler_{worker_id}")
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture
def pg_fresh_database(postgres: PostgresServer) -> Iterator[str]:
    """A database of this test's own, with nothing in it (URL)."""
    name = postgres.create_database("fresh")
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture
def pg_workspace(request: pytest.FixtureRequest) -> str:
    """A workspace name no other test uses."""
    return f"test/{request.node.name[:80]}/{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_pg_workspace() -> Callable[[str], str]:
    return lambda label: f"test/{label}/{uuid.uuid4().hex[:8]}"
