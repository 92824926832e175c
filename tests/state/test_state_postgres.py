"""What only the PostgreSQL store has: workspaces in one database, its schema and migrations, the
database's collation, credentials and scrubbed errors, and connections that drop or servers that
restart. Against a real server (tests/conftest.py); what both stores do is in the conformance suite.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import postgres_server
import psycopg
import pytest
from state_backends import PostgresBackend
from state_fixtures import make_record

from reconciler.clock import FakeClock
from reconciler.state import pg_schema
from reconciler.state.interface import StateError
from reconciler.state.postgres import PostgresStateStore


def _open(url: str, workspace: str = "w", **kwargs) -> PostgresStateStore:
    return PostgresStateStore.open(url, workspace=workspace, **kwargs)


def _tables(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'reconciler' ORDER BY 1"
            ).fetchall()
        ]


# -- workspaces ----------------------------------------------------------------------------------


def test_workspaces_in_one_database_never_see_or_touch_each_other(
    pg_database: str, make_pg_workspace
) -> None:
    a, b = make_pg_workspace("a"), make_pg_workspace("b")
    with _open(pg_database, a) as left, _open(pg_database, b) as right:
        assert left.meta().lineage != right.meta().lineage
        left.put(make_record("shared"), event="create")
        left.put(make_record("only-left"), event="create")
        right.put(make_record("shared", remote_id="ft-right"), event="create")
        entry = right.journal_open("FineTune/shared", "create", "p", {}, {})
        assert left.meta().serial == 2 and right.meta().serial == 1
        assert list(left.all()) == ["FineTune/only-left", "FineTune/shared"]
        assert (
            list(right.all()) == ["FineTune/shared"] and right.get("FineTune/shared").remote_id == "ft-right"
        )
        assert left.open_journal() == [] and [e.id for e in right.open_journal()] == [entry]
        left.remove("FineTune/shared", event="delete")  # a prune in one workspace…
        assert right.get("FineTune/shared") is not None  # …is not a prune in the other
        assert [e.event for e in right.events()] == ["create"]
        with pytest.raises(StateError, match=f"journal entry {entry} does not exist"):
            left.journal_close(entry, "done")  # ids are per workspace: one cannot close another's row


def test_addresses_are_ordered_by_code_point_whatever_the_database_locale(postgres) -> None:
    name = postgres.create_database("icu", LOCALE_PROVIDER="icu", ICU_LOCALE="'en-US'", TEMPLATE="template0")
    try:
        url = postgres.url(name)
        with psycopg.connect(url, autocommit=True) as conn:  # this database would order them the other way
            assert conn.execute("SELECT 'alpha/x' < 'Beta/x'").fetchone()[0] is True
        with _open(url) as store:
            for kind, rname in [("Beta", "x"), ("alpha", "x"), ("FineTune", "a-b"), ("FineTune", "ab")]:
                store.put(make_record(rname, kind=kind), event="create")
            assert (
                list(store.all())
                == sorted(store.all())
                == ["Beta/x", "FineTune/a-b", "FineTune/ab", "alpha/x"]
            )
    finally:
        postgres.drop_database(name)


def test_a_bad_workspace_name_is_refused(pg_database: str) -> None:
    with pytest.raises(StateError, match="workspace name is empty"):
        _open(pg_database, " ")
    with pytest.raises(StateError, match="at most 200 printable characters"):
        _open(pg_database, "x\n")


# -- schema and migrations -----------------------------------------------------------------------


def test_the_first_writable_open_creates_the_schema_and_a_read_only_one_creates_nothing(
    pg_fresh_database: str,
) -> None:
    with _open(pg_fresh_database, readonly=True) as reader:
        assert reader.meta().serial == 0 and reader.all() == {} and reader.lock_info() is None
    assert _tables(pg_fresh_database) == []
    with _open(pg_fresh_database) as store:
        assert store.meta().schema_version == pg_schema.SCHEMA_VERSION
    assert _tables(pg_fresh_database) == [
        "events",
        "journal",
        "lock_holders",
        "resources",
        "schema_version",
        "workspaces",
    ]


def test_processes_opening_a_fresh_database_at_once_migrate_it_once(pg_fresh_database: str) -> None:
    errors: list[BaseException] = []
    lineages: list[str] = []

    def open_one(i: int) -> None:
        try:
            with _open(pg_fresh_database, f"w{i % 2}") as store:
                lineages.append(store.meta().lineage)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(lineages)) == 2  # one lineage per workspace, however many opened it at once
    with psycopg.connect(pg_fresh_database, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM reconciler.schema_version").fetchall() == [
            (pg_schema.SCHEMA_VERSION,)
        ]


@pytest.mark.parametrize("readonly", [False, True])
def test_a_database_from_a_newer_reconciler_is_refused_untouched(
    pg_fresh_database: str, readonly: bool
) -> None:
    _open(pg_fresh_database).close()
    with psycopg.connect(pg_fresh_database, autocommit=True) as conn:
        conn.execute("UPDATE reconciler.schema_version SET version = 99")
    before = PostgresBackend(pg_fresh_database, "w").persisted()
    with pytest.raises(StateError, match="newer reconciler \\(state schema version 99.*Upgrade reconciler"):
        _open(pg_fresh_database, readonly=readonly)
    assert PostgresBackend(pg_fresh_database, "w").persisted() == before


def test_a_failing_migration_leaves_the_database_as_it_was(
    pg_fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _open(pg_fresh_database) as store:
        store.append_event("before")
    nxt = pg_schema.SCHEMA_VERSION + 1
    broken = (*pg_schema.MIGRATIONS, (nxt, ("CREATE TABLE reconciler.extra (x int)", "THIS IS NOT SQL")))
    monkeypatch.setattr(pg_schema, "MIGRATIONS", broken)
    monkeypatch.setattr(pg_schema, "SCHEMA_VERSION", nxt)
    with pytest.raises(StateError, match="syntax error"):
        _open(pg_fresh_database)
    monkeypatch.undo()
    with _open(pg_fresh_database) as store:
        assert store.meta().schema_version == nxt - 1 and [e.event for e in store.events()] == ["before"]
    assert "extra" not in _tables(pg_fresh_database)


def test_migrations_are_numbered_in_order() -> None:
    versions = [version for version, _ in pg_schema.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))
    assert versions[-1] == pg_schema.SCHEMA_VERSION
    assert 1 <= pg_schema.MIN_READABLE_VERSION <= pg_schema.SCHEMA_VERSION


# -- credentials and errors: one line, what to do, never the password ----------------------------


def _with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


def test_a_wrong_password_says_where_passwords_come_from_and_never_shows_it(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with pytest.raises(StateError) as refused:
        _open(_with_password(pg_database, "hunter2-wrong"))
    message = str(refused.value)
    assert "hunter2-wrong" not in message and "reconciler:***@" in message
    assert message.startswith("cannot log in to the state database") and "PGPASSWORD" in message
    assert "\n" not in message
    with pytest.raises(StateError, match="cannot log in .*no password supplied.*~/.pgpass"):
        _open(pg_database)


def test_the_password_can_come_from_a_variable_the_user_names(
    postgres, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = postgres.password()
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    monkeypatch.setenv("TEAM_STATE_PASSWORD", password)
    url = f"{pg_database}?password_env=TEAM_STATE_PASSWORD"
    with _open(url) as store:
        assert store.meta().serial == 0
        assert password not in store.path + repr(store)  # the variable's name may show, never its value
    monkeypatch.delenv("TEAM_STATE_PASSWORD")
    with pytest.raises(
        StateError, match="password_env=TEAM_STATE_PASSWORD names an environment variable that is not set"
    ):
        _open(url)


def test_a_password_in_the_url_is_used_but_never_shown(
    postgres, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = postgres.password()
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    url = _with_password(pg_database, password)
    with _open(url, "pw") as store:
        store.put(make_record(), event="create")
        assert password not in store.path + repr(store)
    monkeypatch.undo()
    assert password.encode() not in PostgresBackend(pg_database, "pw").persisted_text()


def test_a_server_that_is_not_there_says_so(pg_database: str) -> None:
    port = postgres_server.free_port()
    with pytest.raises(
        StateError,
        match=f"cannot connect to the state database postgresql://reconciler@127.0.0.1:"
        f"{port}/x: .*refused.*Is the server running",
    ):
        _open(f"postgresql://reconciler@127.0.0.1:{port}/x")


def test_a_missing_database_says_so(pg_database: str) -> None:
    url = pg_database.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(StateError, match="the state database .*/no_such_db does not exist.*createdb"):
        _open(url)


# -- connections that drop, servers that restart ---------------------------------------------------

DIE_ON_EVENT = """
CREATE FUNCTION reconciler.die() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NEW; END $$;
CREATE TRIGGER die_on_boom BEFORE INSERT ON reconciler.events FOR EACH ROW
WHEN (NEW.event = 'boom') EXECUTE FUNCTION reconciler.die();
"""


def test_a_connection_dropped_mid_transaction_writes_nothing_half(pg_fresh_database: str) -> None:
    """The server kills the session after the record and the serial bump, before the event and COMMIT."""
    store = _open(pg_fresh_database)
    try:
        store.put(make_record("before"), event="create")
        with psycopg.connect(pg_fresh_database, autocommit=True) as conn:
            conn.execute(DIE_ON_EVENT)
        entry = store.journal_open("FineTune/money-rain", "create", "p", {}, {})
        before = PostgresBackend(pg_fresh_database, "w").persisted()
        with pytest.raises(
            StateError, match="lost the connection to the state database .*Nothing is half-written"
        ):
            store.put(make_record(), event="boom", close_journal=(entry, "done", {"job_id": "ft-1"}))
        assert PostgresBackend(pg_fresh_database, "w").persisted() == before
        # the same store reconnects (it held no lock) and sees the state as it was before the put
        assert store.get("FineTune/money-rain") is None and store.meta().serial == 1
        assert [e.id for e in store.open_journal()] == [entry]
        assert store.put(make_record(), event="create", close_journal=(entry, "done", None)) == 2
    finally:
        store.close()


def _backend_pid(store: PostgresStateStore) -> int:
    return int(store._conn.info.backend_pid)


def test_a_lock_holder_whose_connection_drops_loses_the_lock_at_once_and_stops(
    pg_database: str, pg_workspace: str
) -> None:
    holder = _open(pg_database, pg_workspace)
    other = _open(pg_database, pg_workspace)
    try:
        with holder.lock("apply"):
            with psycopg.connect(pg_database, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (_backend_pid(holder),))
            started = time.monotonic()
            with other.lock("apply", timeout=5) as taken:  # the server ends the session within moments…
                assert other.lock_info() == taken
            assert time.monotonic() - started < 1.0  # …and the lock died with it
            with pytest.raises(StateError, match="the apply lock went with it, so this run stopped"):
                holder.put(make_record(), event="create")
            with pytest.raises(StateError, match="while holding the apply lock, so this run stopped"):
                holder.get("FineTune/money-rain")  # no silent reconnect while it thinks it holds the lock
        assert other.get("FineTune/money-rain") is None
    finally:
        holder.close()
        other.close()


@pytest.fixture
def own_server(postgres) -> Iterator[postgres_server.Server]:
    """A server of this test's own, to restart (the shared one serves other tests meanwhile)."""
    if postgres_server.find_bin() is None:
        pytest.skip("needs the PostgreSQL binaries to start a server of its own")
    server = postgres_server.start()
    yield server
    postgres_server.remove(server)


def test_a_server_restart_is_a_clear_error_and_loses_nothing(
    own_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSFILE", str(own_server.pgpass))
    url = own_server.url()
    store = _open(url)
    try:
        with store.lock("apply"):
            store.put(make_record("kept"), event="create")
            own_server.restart()
            with pytest.raises(StateError) as stopped:
                store.put(make_record("after"), event="create")
            assert str(stopped.value).startswith(f"lost the connection to the state database {url}")
            assert "this run stopped" in str(stopped.value) and "run the command again" in str(stopped.value)
        with _open(url) as again, again.lock("apply"):
            assert list(again.all()) == ["FineTune/kept"] and again.meta().serial == 1
    finally:
        store.close()


# -- the driver is loaded only for a PostgreSQL state ----------------------------------------------


def test_a_sqlite_user_never_imports_psycopg(tmp_path) -> None:
    script = (
        "import sys\n"
        "from reconciler.cli import main\n"
        "from reconciler.workspace import Workspace\n"
        f"ws = Workspace([{str(tmp_path)!r}])\n"
        "ws.records()\n"
        "assert 'psycopg' not in sys.modules, sorted(m for m in sys.modules if 'psycopg' in m)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_without_the_driver_a_postgresql_state_says_what_to_install(tmp_path) -> None:
    script = (
        "import sys\n"
        "sys.modules['psycopg'] = None  # as if reconciler[postgres] were not installed\n"
        "from reconciler.workspace import Workspace\n"
        "from reconciler.state.interface import StateError\n"
        f"ws = Workspace([{str(tmp_path)!r}], state_path='postgresql://ana:s3cret@db.example/x', workspace='w')\n"
        "try:\n"
        "    ws.records()\n"
        "except StateError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "pip install 'reconciler[postgres]'" in done.stdout, done.stdout + done.stderr
    assert "s3cret" not in done.stdout


def test_any_message_that_quotes_the_password_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq never echoes a password, but a server message or a future driver might: the store scrubs it."""
    monkeypatch.setenv("TEAM_STATE_PASSWORD", "from-the-variable")
    store = PostgresStateStore(
        "postgresql://ana:in-the-url@db.example/x?password_env=TEAM_STATE_PASSWORD",
        "w",
        readonly=False,
        clock=FakeClock(),
    )  # not opened: no connection is made
    for secret in ("in-the-url", "from-the-variable"):
        message = str(store._error(psycopg.OperationalError(f"something failed for {secret}"), "connect"))
        assert secret not in message and "***" in message
