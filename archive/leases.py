"""Island leases: several worker processes share one campaign, one island each.

A lease is (owner, expiry) on the island's row. Acquiring is atomic: on PostgreSQL the
free row is locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (two workers never wait
on, or get, the same island); on SQLite the whole transaction holds the write lock.
A worker renews before ``ttl`` runs out; a lease that expired (a crashed worker) is free
for anyone. Times are the workers' clocks (unix seconds): keep them in sync (NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import and_, or_, select, update

from evolve.archive.base import ArchiveBase
from evolve.archive.models import ISLANDS, utcnow
from evolve.archive.records import IslandLease

_t = ISLANDS


def _free(now: float):
    return or_(_t.c.lease_owner.is_(None), _t.c.lease_expires < now)


def _orphaned(now: float):
    """Leased once, but the holder stopped renewing: its worker died."""
    return and_(_t.c.lease_owner.is_not(None), _t.c.lease_expires < now)


class LeaseMixin(ArchiveBase):
    def acquire_island(
        self,
        campaign_id: int,
        worker: str,
        ttl: float,
        islands: Iterable[int] | None = None,
        orphans_only: bool = False,
    ) -> int | None:
        """Lease the lowest-numbered free island to ``worker`` for ``ttl`` seconds and
        return it, or None when every island is leased. ``islands`` (the campaign's
        island numbers) creates rows for islands not seen yet and limits the choice.
        ``orphans_only``: only islands whose lease expired (a dead worker's), never one
        nobody has leased yet."""
        if ttl <= 0:
            raise ValueError("lease ttl must be positive")
        wanted = sorted(set(int(i) for i in islands)) if islands is not None else None

        def tx(conn) -> int | None:
            now = time.time()
            if wanted:
                for island in wanted:
                    conn.execute(self._insert_ignore_island(conn, campaign_id, island))
            free = _orphaned(now) if orphans_only else _free(now)
            q = select(_t.c.island).where(_t.c.campaign_id == campaign_id, free)
            if wanted is not None:
                q = q.where(_t.c.island.in_(wanted))
            q = q.order_by(_t.c.island).limit(1)
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            island = conn.execute(q).scalar()
            if island is None:
                return None
            done = conn.execute(
                update(_t)
                .where(_t.c.campaign_id == campaign_id, _t.c.island == island, free)
                .values(lease_owner=worker, lease_expires=now + ttl, heartbeat_at=now, updated_at=utcnow())
            ).rowcount
            return island if done == 1 else None

        return self._write(tx)

    def renew_island(self, campaign_id: int, island: int, worker: str, ttl: float) -> bool:
        """Extend ``worker``'s lease; False if it no longer holds it (expired and taken)."""

        def tx(conn) -> bool:
            now = time.time()
            mine = and_(_t.c.campaign_id == campaign_id, _t.c.island == island, _t.c.lease_owner == worker)
            # An expired lease nobody took yet may still be renewed by its owner.
            return conn.execute(update(_t).where(mine).values(lease_expires=now + ttl, heartbeat_at=now)).rowcount == 1

        return self._write(tx)

    def release_island(self, campaign_id: int, island: int, worker: str) -> bool:
        """Give the island back; False if ``worker`` did not hold it."""

        def tx(conn) -> bool:
            return (
                conn.execute(
                    update(_t)
                    .where(
                        _t.c.campaign_id == campaign_id,
                        _t.c.island == island,
                        _t.c.lease_owner == worker,
                    )
                    .values(lease_owner=None, lease_expires=None)
                ).rowcount
                == 1
            )

        return self._write(tx)

    def acquire_all_islands(
        self,
        campaign_id: int,
        owner: str,
        ttl: float,
        islands: Iterable[int],
        is_dead: Callable[[str], bool] = lambda owner: False,
    ) -> IslandLease | None:
        """Lease every island to ``owner`` at once (one process runs the whole campaign),
        in one transaction: None when done, else a live lease held by someone else (then
        nothing changed). A lease whose holder ``is_dead`` counts as free."""
        if ttl <= 0:
            raise ValueError("lease ttl must be positive")
        wanted = sorted(set(int(i) for i in islands))

        def tx(conn) -> IslandLease | None:
            now = time.time()
            for island in wanted:
                conn.execute(self._insert_ignore_island(conn, campaign_id, island))
            q = select(_t).where(_t.c.campaign_id == campaign_id, _t.c.island.in_(wanted)).order_by(_t.c.island)
            if conn.dialect.name == "postgresql":
                q = q.with_for_update()
            for r in conn.execute(q).all():
                held = r.lease_owner is not None and r.lease_owner != owner and (r.lease_expires or 0) >= now
                if held and not is_dead(r.lease_owner):
                    return IslandLease(
                        r.campaign_id, r.island, r.lease_owner, r.lease_expires, r.heartbeat_at, dict(r.state or {})
                    )
            conn.execute(
                update(_t)
                .where(_t.c.campaign_id == campaign_id, _t.c.island.in_(wanted))
                .values(lease_owner=owner, lease_expires=now + ttl, heartbeat_at=now, updated_at=utcnow())
            )
            return None

        return self._write(tx)

    def renew_all_islands(self, campaign_id: int, owner: str, ttl: float) -> int:
        """Extend every lease ``owner`` holds; how many it still holds."""

        def tx(conn) -> int:
            now = time.time()
            mine = and_(_t.c.campaign_id == campaign_id, _t.c.lease_owner == owner)
            return conn.execute(update(_t).where(mine).values(lease_expires=now + ttl, heartbeat_at=now)).rowcount

        return self._write(tx)

    def release_all_islands(self, campaign_id: int, owner: str) -> int:
        def tx(conn) -> int:
            mine = and_(_t.c.campaign_id == campaign_id, _t.c.lease_owner == owner)
            return conn.execute(update(_t).where(mine).values(lease_owner=None, lease_expires=None)).rowcount

        return self._write(tx)

    def leases(self, campaign_id: int) -> list[IslandLease]:
        """Every island row of the campaign with its current lease (expired ones too)."""
        with self._read() as conn:
            rows = conn.execute(select(_t).where(_t.c.campaign_id == campaign_id).order_by(_t.c.island))
            return [
                IslandLease(
                    r.campaign_id, r.island, r.lease_owner, r.lease_expires, r.heartbeat_at, dict(r.state or {})
                )
                for r in rows
            ]

    def _insert_ignore_island(self, conn, campaign_id: int, island: int):
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return (
            dialect.insert(_t)
            .values(campaign_id=campaign_id, island=island, state={}, n_ok=0, updated_at=utcnow())
            .on_conflict_do_nothing()
        )
