"""Read-only queries for the dashboard, the report and the plots.

``ArchiveReader`` opens an archive without migrating it and with the database itself
refusing writes (SQLite ``PRAGMA query_only``, PostgreSQL read-only transactions), so
watching a running campaign can never change it. Every method is one short read and
returns plain data (dicts, lists, ``ProgramRecord``); nothing here holds a transaction
open between calls.

The column pages (``program_columns``) feed the dashboard's in-memory series: programs
are append-only apart from sampling bookkeeping (``ok_pos``, ``n_children``), which these
pages leave out, so a page once read never goes stale.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Double, and_, cast, event, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from evolve.archive import db
from evolve.archive.models import Campaign, EliteCell, Event, Island, LLMCallRow, Program, ProgramParent
from evolve.archive.records import (
    CampaignInfo,
    EventRecord,
    LLMCallRecord,
    ProgramRecord,
    campaign_from_row,
    event_from_row,
    llm_call_from_row,
    program_from_row,
    restore_floats,
)
from evolve.errors import StorageError

log = logging.getLogger(__name__)

_P = Program.__table__
_PP = ProgramParent.__table__
_E = EliteCell.__table__

COLUMNS = (
    "id",
    "seq",
    "island",
    "status",
    "objective",
    "fitness",
    "operator",
    "model",
    "cost",
    "input_tokens",
    "output_tokens",
    "generation",
    "eval_time",
    "created_at",
    "parent0",
    "parent1",
)
"""What ``program_columns`` returns per program (``parent0``/``parent1``: first and
second parent id, or None)."""

LIGHT = ("id", "seq", "island", "status", "objective", "fitness", "operator", "model", "generation", "born_at")


def _read_only(engine) -> None:
    """Make every pooled connection refuse writes, at the database level."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("PRAGMA query_only = ON")
        else:
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_conn.commit()
        cur.close()


class ArchiveReader:
    """A read-only view of an archive (``sqlite:///...`` or ``postgresql://...``)."""

    def __init__(self, url: str):
        self.url = db.normalize_url(url)
        _require_file(self.url)
        self._engine = db.make_engine(self.url)
        _read_only(self._engine)
        self.dialect = self._engine.dialect.name
        self._read_engine = (
            self._engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else self._engine
        )
        where = db.safe_url(self.url)
        try:
            with self._engine.connect() as conn:
                present = inspect(conn).has_table(Campaign.__tablename__)
        except SQLAlchemyError as e:
            self._engine.dispose()
            reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
            raise StorageError(f"cannot open the archive at {where}: {reason}") from None
        if not present:
            self._engine.dispose()
            raise StorageError(f"no evolve archive at {where}: run a campaign there first (or check --storage)")

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _conn(self):
        return self._read_engine.connect()

    # -- campaigns --------------------------------------------------------------------

    def campaigns(self) -> list[dict[str, Any]]:
        """Every campaign with its spend totals and program counts by status."""
        with self._conn() as conn:
            infos = [(campaign_from_row(r), r) for r in conn.execute(select(Campaign).order_by(Campaign.id))]
            counts: dict[int, dict[str, int]] = {}
            for cid, status, n in conn.execute(
                select(_P.c.campaign_id, _P.c.status, func.count()).group_by(_P.c.campaign_id, _P.c.status)
            ):
                counts.setdefault(cid, {})[status] = int(n)
            best = {info.id: self._best(conn, info.id) for info, _ in infos}
        return [_campaign_dict(info, row, counts.get(info.id, {}), best[info.id]) for info, row in infos]

    @staticmethod
    def _best(conn, campaign_id: int) -> dict[str, Any] | None:
        q = (
            select(_P.c.id, _P.c.objective, _P.c.fitness)
            .where(_P.c.campaign_id == campaign_id, _P.c.status == "ok")
            .order_by(_P.c.fitness.desc(), _P.c.born_at, _P.c.id)
            .limit(1)
        )
        row = conn.execute(q).first()
        return dict(row._mapping) if row else None

    def campaign(self, campaign_id: int, counts: bool = True) -> dict[str, Any] | None:
        """One campaign; ``counts=False`` skips counting its programs by status (a scan
        of the campaign: callers that poll count from their own columns)."""
        with self._conn() as conn:
            row = conn.execute(select(Campaign).where(Campaign.id == campaign_id)).first()
            if row is None:
                return None
            by_status: dict[str, int] = {}
            if counts:
                q = select(_P.c.status, func.count()).where(_P.c.campaign_id == campaign_id).group_by(_P.c.status)
                by_status = {s: int(n) for s, n in conn.execute(q)}
            best = self._best(conn, campaign_id)
        return _campaign_dict(campaign_from_row(row), row, by_status, best)

    def campaign_by_name(self, name: str) -> CampaignInfo | None:
        with self._conn() as conn:
            row = conn.execute(select(Campaign).where(Campaign.name == name)).first()
        return campaign_from_row(row) if row else None

    def best_ids(self, campaign_id: int, k: int) -> list[int]:
        """The ``k`` fittest ok programs (ties: the older), best first."""
        q = (
            select(_P.c.id)
            .where(_P.c.campaign_id == campaign_id, _P.c.status == "ok")
            .order_by(_P.c.fitness.desc(), _P.c.born_at, _P.c.id)
            .limit(k)
        )
        with self._conn() as conn:
            return list(conn.execute(q).scalars())

    # -- column pages (the dashboard's series) ----------------------------------------

    def program_columns(
        self, campaign_id: int, after_id: int | None = None, limit: int = 50_000
    ) -> dict[str, list[Any]]:
        """Programs with ``id > after_id`` in id order, as lists per ``COLUMNS`` name
        (``created_at`` as unix seconds; -1 where ``seq``, ``parent0`` or ``parent1``
        is missing, so the lists convert straight to integer arrays)."""
        p0, p1 = _PP.alias("p0"), _PP.alias("p1")
        q = (
            select(
                _P.c.id,
                func.coalesce(_P.c.seq, -1),
                _P.c.island,
                _P.c.status,
                _P.c.objective,
                _P.c.fitness,
                _P.c.operator,
                _P.c.model,
                _P.c.cost,
                _P.c.input_tokens,
                _P.c.output_tokens,
                _P.c.generation,
                _P.c.eval_time,
                self._epoch_of(_P.c.created_at),
                func.coalesce(p0.c.parent_id, -1),
                func.coalesce(p1.c.parent_id, -1),
            )
            .outerjoin(p0, and_(p0.c.child_id == _P.c.id, p0.c.rank == 0))
            .outerjoin(p1, and_(p1.c.child_id == _P.c.id, p1.c.rank == 1))
            .where(_P.c.campaign_id == campaign_id)
            .order_by(_P.c.id)
            .limit(limit)
        )
        if after_id is not None:
            q = q.where(_P.c.id > after_id)
        with self._conn() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return {name: [] for name in COLUMNS}
        return {name: list(values) for name, values in zip(COLUMNS, zip(*rows))}

    def _epoch_of(self, column):
        """Unix seconds computed by the database (parsing 100,000 timestamps in Python
        costs more than the whole query). Timestamps are stored as naive UTC."""
        if self.dialect == "sqlite":
            return ((func.julianday(column) - 2440587.5) * 86400.0).label("created_at")
        return cast(func.extract("epoch", column), Double).label("created_at")

    def max_program_id(self, campaign_id: int) -> int:
        with self._conn() as conn:
            return int(conn.execute(select(func.max(_P.c.id)).where(_P.c.campaign_id == campaign_id)).scalar() or 0)

    # -- programs ---------------------------------------------------------------------

    def program(self, program_id: int) -> ProgramRecord | None:
        with self._conn() as conn:
            row = conn.execute(select(Program).where(Program.id == program_id)).first()
        return program_from_row(row) if row else None

    def programs(self, ids: Iterable[int]) -> list[ProgramRecord]:
        """Full records by id, in the order asked (unknown ids are skipped)."""
        ids = list(ids)
        if not ids:
            return []
        with self._conn() as conn:
            found = {r.id: program_from_row(r) for r in conn.execute(select(Program).where(Program.id.in_(set(ids))))}
        return [found[i] for i in ids if i in found]

    def light(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        """The ``LIGHT`` fields plus ``parent_ids`` and ``n_children`` (no code), by id."""
        ids = sorted(set(ids))
        if not ids:
            return []
        cols = [getattr(_P.c, n) for n in LIGHT]
        out: dict[int, dict[str, Any]] = {}
        with self._conn() as conn:
            for chunk in _chunks(ids, 5000):
                for row in conn.execute(select(*cols, _P.c.n_children).where(_P.c.id.in_(chunk))):
                    out[row.id] = {**{n: getattr(row, n) for n in LIGHT}, "n_children": row.n_children, "parents": []}
                links = select(_PP.c.child_id, _PP.c.rank, _PP.c.parent_id).where(_PP.c.child_id.in_(chunk))
                for child, _rank, parent in conn.execute(links.order_by(_PP.c.child_id, _PP.c.rank)):
                    if child in out:
                        out[child]["parents"].append(parent)
        return [out[i] for i in ids if i in out]

    def ancestry(self, start: Sequence[int], limit: int) -> list[int]:
        """Up to ``limit`` ids: ``start`` and their ancestors through every parent,
        nearest generations first (one recursive query; a parent id with no program
        row is still listed, so the caller can draw it as missing)."""
        if not start:
            return []
        seeds = select(_P.c.id.label("id")).where(_P.c.id.in_([int(i) for i in start])).cte("anc", recursive=True)
        anc = seeds.union(select(_PP.c.parent_id).where(_PP.c.child_id == seeds.c.id))
        with self._conn() as conn:
            return [int(i) for i in conn.execute(select(anc.c.id).limit(limit)).scalars()]

    def children_of(self, program_id: int, limit: int = 200) -> tuple[list[int], int]:
        """Child ids (oldest first, at most ``limit``) and how many there are in all."""
        base = select(_PP.c.child_id).where(_PP.c.parent_id == program_id)
        with self._conn() as conn:
            ids = list(conn.execute(base.order_by(_PP.c.child_id).limit(limit)).scalars())
            total = len(ids)
            if total == limit:
                total = int(conn.execute(select(func.count()).select_from(base.subquery())).scalar_one())
        return ids, total

    def codes(self, ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(ids))
        out: dict[int, str] = {}
        with self._conn() as conn:
            for chunk in _chunks(ids, 2000):
                out.update(dict(conn.execute(select(_P.c.id, _P.c.code).where(_P.c.id.in_(chunk))).all()))
        return out

    def llm_calls(self, program_id: int) -> list[LLMCallRecord]:
        q = select(LLMCallRow).where(LLMCallRow.program_id == program_id).order_by(LLMCallRow.id)
        with self._conn() as conn:
            return [llm_call_from_row(r) for r in conn.execute(q)]

    def recent(self, campaign_id: int, limit: int = 30) -> list[dict[str, Any]]:
        """The newest programs (light fields), newest first."""
        q = select(_P.c.id).where(_P.c.campaign_id == campaign_id).order_by(_P.c.id.desc()).limit(limit)
        with self._conn() as conn:
            ids = list(conn.execute(q).scalars())
        return sorted(self.light(ids), key=lambda p: -p["id"])

    def metrics_of(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = sorted(set(ids))
        out: dict[int, dict[str, Any]] = {}
        with self._conn() as conn:
            for chunk in _chunks(ids, 5000):
                for pid, metrics in conn.execute(select(_P.c.id, _P.c.metrics).where(_P.c.id.in_(chunk))):
                    out[pid] = restore_floats(metrics)
        return out

    def descriptors(self, ids: Iterable[int]) -> dict[int, tuple[str, dict[str, Any] | None]]:
        """Code and stored descriptor per id (for behaviour descriptors)."""
        ids = sorted(set(ids))
        out: dict[int, tuple[str, dict[str, Any] | None]] = {}
        with self._conn() as conn:
            for chunk in _chunks(ids, 2000):
                q = select(_P.c.id, _P.c.code, _P.c.descriptor).where(_P.c.id.in_(chunk))
                for pid, code, desc in conn.execute(q):
                    out[pid] = (code, restore_floats(desc) if desc else None)
        return out

    # -- islands, cells, events -------------------------------------------------------

    def island_states(self, campaign_id: int) -> dict[int, dict[str, Any]]:
        q = select(Island.island, Island.state, Island.lease_owner).where(Island.campaign_id == campaign_id)
        with self._conn() as conn:
            return {int(i): {**dict(s or {}), "_lease_owner": o} for i, s, o in conn.execute(q.order_by(Island.island))}

    def elite_cells(self, campaign_id: int) -> list[dict[str, Any]]:
        q = (
            select(_E.c.grid, _E.c.island, _E.c.cell, _E.c.program_id, _E.c.fitness, _P.c.objective)
            .join(_P, _P.c.id == _E.c.program_id)
            .where(_E.c.campaign_id == campaign_id)
            .order_by(_E.c.grid, _E.c.island, _E.c.cell)
        )
        with self._conn() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def events(self, campaign_id: int, kind: str | None = None) -> list[EventRecord]:
        q = select(Event).where(Event.campaign_id == campaign_id).order_by(Event.id)
        if kind is not None:
            q = q.where(Event.kind == kind)
        with self._conn() as conn:
            return [event_from_row(r) for r in conn.execute(q)]


def cvt_centroids(
    names: Sequence[str], lows: Sequence[float], highs: Sequence[float], n_cells: int
) -> list[list[float]]:
    """The CVT cell centres a MAP-Elites campaign with these settings uses (in the
    descriptor's own units), computed the way the campaign computed them."""
    from evolve.archive.policies.map_elites import Grid

    grid = Grid.cvt(names, lows, highs, n_cells)
    lo, hi = grid.lows, grid.highs
    assert grid.centroids is not None and lo is not None and hi is not None
    return (lo + grid.centroids * (hi - lo)).tolist()


def _require_file(url: str) -> None:
    """A SQLite file that does not exist is not created (opening it would)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and "mode=memory" not in url:
        if not Path(database).expanduser().is_file():
            raise StorageError(f"no evolve archive at {db.safe_url(url)}: no such file")


def _campaign_dict(info: CampaignInfo, row: Any, counts: dict[str, int], best: dict | None) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": info.id,
        "name": info.name,
        "problem": info.problem,
        "status": info.status,
        "config": info.config,
        "state": info.state,
        "created_at": _epoch(info.created_at),
        "updated_at": _epoch(info.updated_at),
        "counts": counts,
        "best": best,
        "spend": {
            "input_tokens": int(m["spent_input_tokens"] or 0),
            "output_tokens": int(m["spent_output_tokens"] or 0),
            "cost": float(m["spent_cost"] or 0.0),
            "calls": int(m["n_calls"] or 0),
        },
    }


def _epoch(t: datetime | None) -> float | None:
    return t.timestamp() if t is not None else None


def _chunks(ids: list[int], n: int) -> Iterable[list[int]]:
    for i in range(0, len(ids), n):
        yield ids[i : i + n]
