"""Per-island state (reflections, counters the loop keeps) and the campaign event log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from evolve.archive.base import ArchiveBase
from evolve.archive.models import ISLANDS, Event, Island, utcnow
from evolve.archive.records import EventRecord, clean_json, event_from_row


class IslandsMixin(ArchiveBase):
    def get_island_state(self, campaign_id: int, island: int) -> dict:
        with self._read() as conn:
            state = conn.execute(
                select(Island.state).where(Island.campaign_id == campaign_id, Island.island == island)
            ).scalar()
        return dict(state or {})

    def island_states(self, campaign_id: int) -> dict[int, dict]:
        with self._read() as conn:
            rows = conn.execute(
                select(Island.island, Island.state).where(Island.campaign_id == campaign_id).order_by(Island.island)
            )
            return {i: dict(s or {}) for i, s in rows}

    def island_sizes(self, campaign_id: int) -> dict[int, int]:
        """Ok programs per island, from the islands' counters (no scan: cheap at any
        size, unlike ``count``)."""
        with self._read() as conn:
            rows = conn.execute(
                select(Island.island, Island.n_ok).where(Island.campaign_id == campaign_id).order_by(Island.island)
            )
            return {int(i): int(n) for i, n in rows}

    def set_island_state(self, campaign_id: int, island: int, state: Mapping[str, Any]) -> None:
        state = clean_json(dict(state))
        now = utcnow()
        self._write(
            lambda c: c.execute(
                self._upsert(
                    c,
                    ISLANDS,
                    dict(campaign_id=campaign_id, island=island, state=state, n_ok=0, updated_at=now),
                    ["campaign_id", "island"],
                    {"state": state, "updated_at": now},
                )
            )
        )

    def log_event(self, campaign_id: int, kind: str, data: Mapping[str, Any] | None = None) -> int:
        values = dict(campaign_id=campaign_id, kind=kind, data=clean_json(dict(data or {})), created_at=utcnow())
        return self._write(lambda c: c.execute(insert(Event).values(**values).returning(Event.id)).scalar_one())

    def events(self, campaign_id: int, kind: str | None = None) -> list[EventRecord]:
        q = select(Event).where(Event.campaign_id == campaign_id).order_by(Event.id)
        if kind is not None:
            q = q.where(Event.kind == kind)
        with self._read() as conn:
            return [event_from_row(r) for r in conn.execute(q)]
