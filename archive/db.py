"""Opening the archive database: URLs, engines, SQLite pragmas and migrations.

SQLite runs in WAL mode with a busy timeout, so several threads and processes can share
one file: readers never block, writers queue (``BEGIN IMMEDIATE``) instead of failing
on a lock upgrade. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from evolve.errors import StorageError

log = logging.getLogger(__name__)

VERSION_TABLE = "evolve_alembic_version"
BUSY_TIMEOUT_MS = 60_000
_MIGRATIONS = Path(__file__).with_name("migrations")
WRITE = {"evolve_write": True}
"""Execution option for connections that will write (SQLite takes the write lock at BEGIN)."""


def normalize_url(url: str) -> str:
    """A SQLAlchemy URL from what a user may type: a file path means SQLite, and
    ``postgresql://`` / ``postgres://`` mean psycopg 3."""
    url = str(url).strip()
    if not url:
        raise StorageError("empty storage URL: give a path (runs.db) or a URL such as sqlite:///runs.db")
    if "://" not in url:
        return "sqlite:///" + str(Path(url).expanduser().absolute())
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def database_error_reason(e: BaseException) -> str | None:
    """What the driver said, when ``e`` is an operational database error a user causes
    (read-only file, unreachable server, full disk); None for anything else."""
    from sqlalchemy.exc import OperationalError

    if not isinstance(e, OperationalError):
        return None
    return str(getattr(e, "orig", None) or e)


def without_credentials(url: str) -> str:
    """The URL as it may be stored or shown: any password removed."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not a URL (a bare path): nothing to remove
        return url
    if parsed.password is None and "password" not in parsed.query:
        return url
    # URL.set() takes None as "unchanged"; the URL is a named tuple, so replace the field.
    parsed = parsed._replace(password=None).difference_update_query(["password"])
    return parsed.render_as_string(hide_password=False)


def sqlite_directory(url: str) -> Path | None:
    """The directory of the SQLite file ``url`` names (None: another database, or memory)."""
    try:
        parsed = make_url(normalize_url(url))
    except (ArgumentError, StorageError):
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    database = database.removeprefix("file:").split("?")[0]
    return Path(database).expanduser().resolve().parent


def make_engine(url: str) -> Engine:
    """An engine with the settings the archive relies on (no migrations run)."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            f"cannot parse storage URL {url!r}: use e.g. sqlite:///runs.db or postgresql://user@host/db"
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        return create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=16)
    except (NoSuchModuleError, ModuleNotFoundError) as e:
        hint = " (pip install 'evolve-search[postgres]')" if parsed.get_backend_name() == "postgresql" else ""
        raise StorageError(f"no database driver for {safe_url(url)}{hint}: {e}") from None


def _sqlite_engine(url) -> Engine:
    database = url.database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if memory:
        # One shared connection, or every session would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        parent = Path(database).expanduser().absolute().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"cannot create the directory {parent} for the archive: {e.strerror}") from None
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            pool_size=8,
            max_overflow=16,
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is lazy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if not memory:
            cur.execute("PRAGMA journal_mode = WAL")
            # Safe in WAL mode: a power cut can lose the last commits, never corrupt.
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        write = conn.get_execution_options().get("evolve_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise StorageError("the archive's migration scripts are missing from this install; reinstall evolve-search")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest revision; safe when several processes open the
    same database at once (SQLite: the write lock; PostgreSQL: an advisory lock)."""
    where = safe_url(engine.url.render_as_string(hide_password=False))
    head = head_revision()
    try:
        current = current_revision(engine)
        if current == head:
            return head
        with engine.execution_options(**WRITE).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('evolve-archive-migrate'))"))
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        log.info("archive at %s migrated from %s to %s", where, current or "empty", head)
        return head
    except CommandError as e:
        raise StorageError(
            f"the archive at {where} has a schema this version of evolve does not know ({e}); upgrade evolve"
        ) from None
    except SQLAlchemyError as e:
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        raise StorageError(f"cannot open the archive at {where}: {reason}") from None
    except OSError as e:
        raise StorageError(f"cannot open the archive at {where}: {e}") from None


def upgrade(url: str) -> str:
    """Migrate the database at ``url`` to the newest schema (``evolve db upgrade``);
    returns the revision it is at."""
    engine = make_engine(url)
    try:
        return migrate(engine)
    finally:
        engine.dispose()
