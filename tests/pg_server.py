"""A throwaway PostgreSQL server for tests, or the one CI provides.

``EVOLVE_TEST_POSTGRES_URL`` (any SQLAlchemy/libpq URL) wins when set. Otherwise
``start()`` runs ``initdb`` into a temporary directory and ``pg_ctl start`` on
127.0.0.1 with a free port and the unix socket inside that directory; as root the
server runs as the ``postgres`` OS user (PostgreSQL refuses to run as root). Durability
is switched off (fsync, synchronous_commit): the cluster is deleted afterwards anyway.
Each test then gets its own schema (``fresh_schema``), which is cheaper than a database
and needs no CREATEDB privilege on a CI server.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

ENV_URL = "EVOLVE_TEST_POSTGRES_URL"


class Unavailable(Exception):
    """No PostgreSQL server can be started here (no binaries, initdb failed...)."""


def find_bindir() -> Path | None:
    if os.environ.get("EVOLVE_PG_BINDIR"):
        return Path(os.environ["EVOLVE_PG_BINDIR"])
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="evolve-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://evolve@127.0.0.1:{self.port}/postgres"
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise Unavailable("running as root without runuser: cannot drop to the postgres user")
            try:
                import pwd

                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no 'postgres' OS user to run the server") from None
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        cmd = self._prefix + [str(self.bindir / args[0]), *args[1:]]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise Unavailable(f"{args[0]} failed: {(proc.stderr or proc.stdout).strip()[-500:]}")

    def start(self) -> PostgresServer:
        try:
            self._run(
                "initdb", "-D", str(self.data), "-U", "evolve", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
            )
            opts = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
            )
        except (Unavailable, OSError, subprocess.TimeoutExpired) as e:
            self.stop()
            raise Unavailable(str(e)) from None
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except (Unavailable, OSError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def start() -> PostgresServer:
    """Start a throwaway server, or raise Unavailable saying why not."""
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable("no PostgreSQL binaries (pg_ctl) found; set EVOLVE_PG_BINDIR or EVOLVE_TEST_POSTGRES_URL")
    return PostgresServer(bindir).start()


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def fresh_schema(url: str) -> tuple[str, str]:
    """Create an empty schema; returns (URL whose search_path is that schema, name)."""
    import sqlalchemy as sa

    url = _sqlalchemy_url(url)
    name = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    finally:
        engine.dispose()
    parsed = sa.engine.make_url(url)
    scoped = parsed.update_query_dict({"options": f"-csearch_path={name}"})
    return scoped.render_as_string(hide_password=False), name


def drop_schema(url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(_sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        engine.dispose()
