#!/usr/bin/env python3
"""A throwaway PostgreSQL server: `initdb` into a temp directory, `pg_ctl` on a free loopback port.

Used by the tests' session fixture (tests/conftest.py) and by `.ci/run`, which starts one for the
whole run and exports its URL. Standard library only: `.ci/run` calls it before the virtual
environment exists.

The server listens on 127.0.0.1 only, its socket in its own directory. Password authentication
(scram-sha-256) is on for TCP, so the tests exercise the credentials path: the password is
written to a `.pgpass` file (0600) and found through `PGPASSFILE`, never put in a URL. Run as
root (CI is), `initdb` refuses to start; then the data directory belongs to the `postgres` user
and the server runs as that user (`runuser`). Durability (`fsync`) is off by default: the tests
restart servers cleanly but never crash the machine; `--durable` keeps PostgreSQL's defaults
(the benchmarks use it).

    python tests/postgres_server.py start DIR [--durable]   # prints shell `export` lines
    python tests/postgres_server.py stop DIR
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

USER = "reconciler"
BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
INFO_FILE = "server.json"


def find_bin() -> Path | None:
    override = os.environ.get("RECONCILER_PG_BIN")
    for candidate in ([override] if override else []) + list(BIN_CANDIDATES):
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class Server:
    directory: str
    bin: str
    port: int
    password: str
    durable: bool = False

    @property
    def data(self) -> Path:
        return Path(self.directory) / "data"

    @property
    def pgpass(self) -> Path:
        return Path(self.directory) / "pgpass"

    @property
    def log(self) -> Path:
        return Path(self.directory) / "server.log"

    def url(self, database: str = "postgres") -> str:
        """A URL without the password (libpq finds it in `pgpass`)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        return {"RECONCILER_TEST_POSTGRES_URL": self.url(), "PGPASSFILE": str(self.pgpass)}

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_server_user([str(Path(self.bin) / "pg_ctl"), "-D", str(self.data), *args]),
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def start(self) -> None:
        settings = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-k {self.directory}",
            "-c max_connections=200",
            "-c log_min_messages=warning",
        ]
        if not self.durable:
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        done = self._ctl(
            "-l", str(self.log), "-w", "-t", "60", "-o", " ".join(settings), "start", check=False
        )
        if done.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}\n{tail}")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def save(self) -> None:
        (Path(self.directory) / INFO_FILE).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, directory: str | Path) -> Server:
        return cls(**json.loads((Path(directory) / INFO_FILE).read_text()))


def start(directory: str | Path | None = None, *, durable: bool = False) -> Server:
    """initdb + start; returns the running server. `directory` must be empty or missing."""
    pg_bin = find_bin()
    if pg_bin is None:
        raise RuntimeError(
            "PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin); "
            "apt-get install postgresql, or set RECONCILER_PG_BIN"
        )
    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
    base.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    base.chmod(0o700)
    pwfile.chmod(0o600)
    init = subprocess.run(
        _as_server_user(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(base / "data"),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    pwfile.unlink()
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stdout}{init.stderr}")
    for attempt in range(5):
        server = Server(
            directory=str(base), bin=str(pg_bin), port=free_port(), password=password, durable=durable
        )
        try:
            server.start()
            break
        except RuntimeError:
            if attempt == 4:
                raise
            time.sleep(0.2)  # the port was taken between probing and binding: try another
    pgpass = server.pgpass
    pgpass.write_text(
        f"127.0.0.1:{server.port}:*:{USER}:{password}\nlocalhost:{server.port}:*:{USER}:{password}\n"
    )
    pgpass.chmod(0o600)  # libpq ignores a .pgpass others can read
    if os.geteuid() == 0:
        shutil.chown(pgpass, "root", "root")  # read by the tests (root), not by the server
    server.save()
    return server


def remove(server: Server) -> None:
    server.stop("immediate")
    shutil.rmtree(server.directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("directory")
    parser.add_argument("--durable", action="store_true", help="keep fsync on (benchmarks)")
    args = parser.parse_args(argv)
    if args.action == "start":
        server = start(args.directory, durable=args.durable)
        for key, value in server.env().items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    try:
        remove(Server.load(args.directory))
    except FileNotFoundError:
        print(f"no server in {args.directory}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
