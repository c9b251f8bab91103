"""The connection plumbing every part of the ``Archive`` shares.

``ArchiveBase`` opens (and migrates) the database and gives the mixins that make up
``Archive`` their three primitives: a read connection, a retried write transaction and
a portable upsert. They are private to the archive package: code outside ``archive/``
calls the public methods of ``Archive`` instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from evolve.archive import db
from evolve.archive import statements as S
from evolve.archive.models import utcnow
from evolve.errors import StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")


class ArchiveBase:
    """Engines and transactions; see ``evolve.archive.store.Archive`` for the public API."""

    def __init__(self, url: str):
        self.url = db.normalize_url(url)
        self._engine = db.make_engine(self.url)
        try:
            self.revision = db.migrate(self._engine)
        except BaseException:
            self._engine.dispose()
            raise
        self._write_engine = self._engine.execution_options(**db.WRITE)
        self.dialect = self._engine.dialect.name
        # PostgreSQL reads need no transaction (each statement sees committed data);
        # autocommit saves the BEGIN and ROLLBACK round trips on every call.
        self._read_engine = (
            self._engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else self._engine
        )

    def close(self) -> None:
        self._engine.dispose()

    def _read(self) -> Connection:
        return self._read_engine.connect()

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in one write transaction, retrying PostgreSQL deadlocks and
        serialization failures (SQLite waits on its busy timeout instead)."""
        for attempt in range(6):
            try:
                with self._write_engine.begin() as conn:
                    return fn(conn)
            except DBAPIError as e:
                code = getattr(getattr(e, "orig", None), "sqlstate", None)
                if code in ("40P01", "40001") and attempt < 5:
                    log.debug("write conflict %s on attempt %d; retrying", code, attempt + 1)
                    time.sleep(0.005 * 2**attempt)
                    continue
                raise
        raise AssertionError("unreachable")

    def _upsert(
        self,
        conn: Connection,
        table: Table,
        values: Mapping[str, Any],
        keys: Sequence[str],
        set_: Mapping[str, Any],
        where: ColumnElement[bool] | None = None,
    ) -> Any:
        """INSERT ... ON CONFLICT (keys) DO UPDATE SET set_ [WHERE where] on SQLite and
        PostgreSQL (the statement; the caller may add ``returning``)."""
        if conn.dialect.name == "sqlite":
            stmt: Any = sqlite.insert(table).values(**values)
        elif conn.dialect.name == "postgresql":
            stmt = postgresql.insert(table).values(**values)
        else:
            raise StorageError(f"the archive supports SQLite and PostgreSQL, not {conn.dialect.name}")
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(set_), where=where)

    def _next_positions(self, conn: Connection, campaign_id: int, island: int, n: int) -> int:
        """Reserve ``n`` consecutive ok positions on an island; returns the first. The
        island row's counter is bumped atomically (a row lock on PostgreSQL, the write
        lock on SQLite), so positions stay dense and unique under concurrency."""
        stmt = S.bump_island(conn.dialect.name)
        params = {"cid": campaign_id, "isl": island, "n": n, "st": {}, "now": utcnow()}
        return int(conn.execute(stmt, params).scalar_one()) - n
