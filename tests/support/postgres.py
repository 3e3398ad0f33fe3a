"""A throwaway PostgreSQL 15 server for the test session, and fresh migrated databases on it.

``initdb`` and ``pg_ctl`` from the Debian packages (``.ci/postgres`` installs them when missing)
run as the ``postgres`` user when the tests run as root (PostgreSQL refuses root), on a temporary
directory, a free loopback port and its own socket folder; durability is off (a test server).
Each test gets a new database copied from a template migrated once (``CREATE DATABASE ...
TEMPLATE``), dropped at its end.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

BIN = Path(os.environ.get("NURTURE_PG_BIN", "/usr/lib/postgresql/15/bin"))
INSTALL_HINT = "PostgreSQL 15 is missing: run `bash .ci/postgres` (apt-get install postgresql-15)"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A running server; :meth:`database` hands out fresh databases."""

    def __init__(self, root: Path, port: int, run_as: str | None) -> None:
        self.root = root
        self.port = port
        self.run_as = run_as
        self._numbers = itertools.count(1)
        self._template: str | None = None

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database on this server (psycopg 3)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()

    def template(self) -> str:
        """A database at this release's schema, migrated once (the fresh databases' template)."""
        if self._template is None:
            from nurture.store import Store

            name = "nurture_template"
            self.execute(f"CREATE DATABASE {name}")
            Store(self.url(name), upgrade=True).close()
            self._template = name
        return self._template

    def new_database(self, *, migrated: bool = True) -> str:
        """A new database (at this release's schema unless ``migrated=False``); its URL."""
        name = f"t{next(self._numbers)}"
        source = f" TEMPLATE {self.template()}" if migrated else ""
        self.execute(f"CREATE DATABASE {name}{source}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`new_database` (closing its connections)."""
        name = url.rsplit("/", 1)[1]
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _as_postgres(run_as: str | None, *args: str) -> list[str]:
    return ["runuser", "-u", run_as, "--", *args] if run_as else list(args)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server for the duration of the block; stop it and remove its files."""
    if not (BIN / "initdb").exists():
        raise RuntimeError(INSTALL_HINT)
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="nurture-pg-"))
    if run_as:
        user = pwd.getpwnam(run_as)
        os.chown(root, user.pw_uid, user.pw_gid)
    root.chmod(0o700)
    data = root / "data"
    port = free_port()
    server = PostgresServer(root, port, run_as)
    subprocess.run(
        _as_postgres(
            run_as,
            str(BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        _as_postgres(
            run_as,
            str(BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ),
        check=True,
        capture_output=True,
    )
    try:
        _wait(server)
        yield server
    finally:
        subprocess.run(
            _as_postgres(run_as, str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _wait(server: PostgresServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.execute("SELECT 1")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
