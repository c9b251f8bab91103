"""What an operator of the archive asks about its database: its size on disk and the
server's settings (benchmarks report both)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from evolve.archive.base import ArchiveBase

_PG_SIZE = text(
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
)


class AdminMixin(ArchiveBase):
    def storage_bytes(self) -> int:
        """Bytes the archive takes: the SQLite file with its WAL, or the PostgreSQL
        schema's tables and indexes."""
        if self.dialect == "sqlite":
            database = self._engine.url.database or ""
            if database in ("", ":memory:"):
                return 0
            path = Path(database)
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        with self._read() as conn:
            return int(conn.execute(_PG_SIZE).scalar_one())

    def server_settings(self, names: tuple[str, ...] = ("server_version",)) -> dict[str, str]:
        """PostgreSQL settings by name (``SHOW name``); empty on SQLite."""
        if self.dialect != "postgresql":
            return {}
        with self._read() as conn:
            return {name: str(conn.exec_driver_sql(f"SHOW {name}").scalar_one()) for name in names}
