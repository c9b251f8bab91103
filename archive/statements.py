"""Prebuilt statements for the hot paths, with every value a bound parameter.

Building ``insert(...).values(**row)`` per call costs more than the database work at
these sizes (SQLAlchemy re-derives and re-keys the statement each time); these are
built once, compiled once per dialect, and executed with plain parameter dicts.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import BigInteger, Double, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from evolve.archive.models import CAMPAIGNS, ISLANDS, LLM_CALLS, PROGRAM_PARENTS, PROGRAMS
from evolve.constants import NOT_EVALUATED_STATUSES

P = PROGRAMS
I = ISLANDS  # noqa: E741
C = CAMPAIGNS
L = LLM_CALLS
PP = PROGRAM_PARENTS

INSERT_PROGRAM = insert(P).returning(P.c.id)
INSERT_PROGRAMS = insert(P).returning(P.c.id, sort_by_parameter_order=True)
# PostgreSQL bulk path: ids drawn from the sequence first, then a plain executemany
# (psycopg pipelines it); a multi-row INSERT ... RETURNING spends its time in psycopg's
# query parsing once the statement holds thousands of parameters.
NEXT_PROGRAM_IDS = text("SELECT nextval(pg_get_serial_sequence('programs', 'id')) FROM generate_series(1, :n)")
INSERT_PROGRAMS_PLAIN = insert(P)
MAX_PROGRAM_ID = select(func.max(P.c.id))
INSERT_LINKS = insert(PP)
# "pid"/"by", not column names: executemany UPDATE binds must not shadow columns.
BUMP_CHILDREN = (
    update(P).where(P.c.id == bindparam("pid")).values(n_children=P.c.n_children + bindparam("by", type_=BigInteger))
)
BUMP_PARENTS = update(P).where(P.c.id.in_(bindparam("ids", expanding=True))).values(n_children=P.c.n_children + 1)
INSERT_CALLS = insert(L).returning(L.c.id, sort_by_parameter_order=True)
INSERT_CALLS_PLAIN = insert(L)
ADD_SPEND = (
    update(C)
    .where(C.c.id == bindparam("cid"))
    .values(
        spent_input_tokens=C.c.spent_input_tokens + bindparam("d_in", type_=BigInteger),
        spent_output_tokens=C.c.spent_output_tokens + bindparam("d_out", type_=BigInteger),
        spent_cost=C.c.spent_cost + bindparam("d_cost", type_=Double),
        n_calls=C.c.n_calls + bindparam("d_calls", type_=BigInteger),
    )
)

LIGHT = (P.c.id, P.c.fitness, P.c.n_children, P.c.born_at, P.c.ok_pos)
_OK_ON_ISLAND = (P.c.campaign_id == bindparam("cid"), P.c.island == bindparam("isl"), P.c.status == "ok")
ISLAND_SIZE = select(I.c.n_ok).where(I.c.campaign_id == bindparam("cid"), I.c.island == bindparam("isl"))
# No status test: only ok programs have a position, and with exactly the unique
# index's columns the planner cannot pick another index (it did, without statistics).
PROBE = select(*LIGHT).where(
    P.c.campaign_id == bindparam("cid"),
    P.c.island == bindparam("isl"),
    P.c.ok_pos.in_(bindparam("pos", expanding=True)),
)
_BY_FITNESS = (P.c.fitness.desc(), P.c.born_at, P.c.id)  # ties: the older program (deterministic)
TOP = select(*LIGHT).where(*_OK_ON_ISLAND).order_by(*_BY_FITNESS).limit(bindparam("lim"))
TOP_VISIBLE = (
    select(*LIGHT).where(*_OK_ON_ISLAND, P.c.born_at <= bindparam("mb")).order_by(*_BY_FITNESS).limit(bindparam("lim"))
)
ALL_VISIBLE = select(*LIGHT).where(*_OK_ON_ISLAND, P.c.born_at <= bindparam("mb")).order_by(P.c.ok_pos)
ALL_OK = select(*LIGHT).where(*_OK_ON_ISLAND).order_by(P.c.ok_pos)
PROGRAMS_BY_ID = select(P).where(P.c.id.in_(bindparam("ids", expanding=True)))
_IDS = P.c.id.in_(bindparam("ids", expanding=True))
_DETAILS = (P.c.id, P.c.metrics, P.c.descriptor, func.length(P.c.code).label("code_length"))
DETAILS_BY_ID = select(*_DETAILS).where(_IDS)
DETAILS_WITH_CODE_BY_ID = select(*_DETAILS, P.c.code).where(_IDS)
PROGRAM_BY_ID = select(P).where(P.c.id == bindparam("id"))
BY_HASH = (
    select(P)
    .where(
        P.c.campaign_id == bindparam("cid"),
        P.c.code_hash == bindparam("h"),
        P.c.status.not_in(NOT_EVALUATED_STATUSES),
    )
    .order_by(P.c.id)
    .limit(1)
)


@lru_cache(maxsize=4)
def bump_island(dialect: str):
    """Upsert of an island row adding ``n`` to its ok counter, returning the new count
    (params: cid, isl, n, st = initial state, now)."""
    mod = {"sqlite": sqlite, "postgresql": postgresql}[dialect]
    n = bindparam("n", type_=BigInteger)
    now = bindparam("now", type_=I.c.updated_at.type)
    stmt = mod.insert(I).values(
        campaign_id=bindparam("cid"),
        island=bindparam("isl"),
        state=bindparam("st", type_=I.c.state.type),
        n_ok=n,
        updated_at=now,
    )
    return stmt.on_conflict_do_update(
        index_elements=[I.c.campaign_id, I.c.island], set_={"n_ok": I.c.n_ok + n, "updated_at": now}
    ).returning(I.c.n_ok)
