"""Many workers on one campaign, in Optuna's way: every worker points at the same
database (PostgreSQL for several machines) and leases islands one at a time.

A worker holds a lease on one island, renews it from a heartbeat thread, and runs that
island's proposals (proposal n belongs to island n % K, so workers never share a seq).
When a worker dies its lease expires after ``ttl`` seconds and another worker takes the
island over, resuming from the island's stored proposals: nothing stored is lost, and
the database's unique (campaign, seq) key means nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

from evolve import wiring
from evolve.archive.store import Archive
from evolve.campaign import CampaignLoop, island_evaluations, seed_islands
from evolve.evaluate import Evaluator, check_seed

if TYPE_CHECKING:
    from evolve.api import Campaign

log = logging.getLogger(__name__)


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat(threading.Thread):
    """Renews one island lease every ttl/3 seconds; ``lost`` is set if it fails."""

    def __init__(self, archive: Archive, campaign_id: int, island: int, worker: str, ttl: float):
        super().__init__(daemon=True, name=f"evolve-lease-{island}")
        self.args = (campaign_id, island, worker, ttl)
        self.archive = archive
        self.stop = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        ttl = self.args[3]
        while not self.stop.wait(ttl / 3):
            try:
                if not self.archive.renew_island(*self.args):
                    self.lost.set()
                    return
            except Exception:  # noqa: BLE001 - a database hiccup: try again next beat
                log.warning("lease renewal failed; retrying", exc_info=True)


def _island_finished(campaign: Campaign, island: int, done: set[int]) -> bool:
    cfg = campaign.config
    quota = cfg.budget // cfg.islands + (island < cfg.budget % cfg.islands)
    state = campaign.store.get_island_state(island)
    return state.get("exhausted", False) or island_evaluations(campaign.store, island, cfg.islands, done) >= quota


def run_worker(
    campaign: Campaign, worker: str | None = None, *, ttl: float = 30.0, poll: float = 1.0, on_tell=None
) -> int:
    """Work on the campaign until every island has its share of the budget.
    Returns the number of evaluations this worker stored."""
    worker = worker or default_worker_name()
    archive, cid, k = campaign.archive, campaign.info.id, campaign.config.islands
    evaluator = campaign._open_evaluator()
    stored = 0
    try:
        while True:
            done = archive.done_seqs(cid)
            open_islands = [i for i in range(k) if not _island_finished(campaign, i, done)]
            if not open_islands:
                return stored
            island = archive.acquire_island(cid, worker, ttl, islands=open_islands)
            if island is None:  # all open islands are leased by live workers: wait for one
                time.sleep(poll)
                continue
            beat = Heartbeat(archive, cid, island, worker, ttl)
            beat.start()
            try:
                if island == 0 and archive.count(cid) == 0:  # island 0's holder seeds the campaign
                    _seed_once(campaign, evaluator)
                stored += _run_island(campaign, evaluator, island, beat, on_tell)
            finally:
                beat.stop.set()
                beat.join()
                if not beat.lost.is_set():
                    archive.release_island(cid, island, worker)
    finally:
        evaluator.sandbox.close()


def _seed_once(campaign: Campaign, evaluator: Evaluator) -> None:
    """Seed under the island lease; a worker that sees seeds already there does nothing."""
    store = campaign.store
    if store.events(kind="seeded") or store.count():
        return
    outcome = check_seed(evaluator)
    seed_islands(store, campaign.config.islands, outcome, campaign.problem.initial_program)
    store.log_event("seeded", {"objective": outcome.objective})


def _run_island(campaign: Campaign, evaluator: Evaluator, island: int, beat: Heartbeat, on_tell) -> int:
    store = campaign.store
    while not store.count():  # island 0's holder is seeding
        if beat.lost.is_set():
            return 0
        time.sleep(0.5)
    before = island_evaluations(store, island, campaign.config.islands, store.done_seqs())
    operator = wiring.make_operator(campaign.config)

    async def go():
        await operator.start()
        try:
            loop = CampaignLoop(
                store=store,
                config=campaign.config,
                problem=campaign.problem,
                operator=operator,
                evaluator=evaluator,
                on_tell=on_tell,
            )
            return await loop.run(campaign.config.budget, islands=[island], keep_going=lambda: not beat.lost.is_set())
        finally:
            await operator.close()

    stats = asyncio.run(go())
    if stats.stopped_by and not beat.lost.is_set() and "told to stop" not in stats.stopped_by:
        # the operator gave up on this island (only duplicates/rejects): don't lease it again
        state = store.get_island_state(island)
        store.set_island_state(island, {**state, "exhausted": True})
    log.info("island %d: %s", island, stats)
    return stats.evaluations - before
