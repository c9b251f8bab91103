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


def _island_finished(campaign, island: int, done: set[int]) -> bool:
    cfg = campaign.config
    quota = cfg.budget // cfg.islands + (island < cfg.budget % cfg.islands)
    state = campaign.store.get_island_state(island)
    return state.get("exhausted", False) or island_evaluations(campaign.store, island, cfg.islands, done) >= quota


class IslandRun(threading.Thread):
    """One leased island evolving on its own thread, under its heartbeat."""

    def __init__(self, campaign, evaluator, island: int, worker: str, ttl: float, on_tell, stopping: threading.Event):
        super().__init__(daemon=True, name=f"evolve-island-{island}")
        self.campaign, self.evaluator, self.island, self.worker = campaign, evaluator, island, worker
        self.on_tell, self.stopping = on_tell, stopping
        self.beat = Heartbeat(campaign.archive, campaign.info.id, island, worker, ttl)
        self.stored = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        archive, cid = self.campaign.archive, self.campaign.info.id
        self.beat.start()
        try:
            if self.island == 0 and archive.count(cid) == 0:  # island 0's holder seeds the campaign
                _seed_once(self.campaign, self.evaluator)
            self.stored = _run_island(
                self.campaign, self.evaluator, self.island, self.beat, self.on_tell, self.stopping
            )
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self.error = e
        finally:
            self.beat.stop.set()
            self.beat.join()
            if not self.beat.lost.is_set():
                archive.release_island(cid, self.island, self.worker)


def run_worker(
    campaign: Campaign, worker: str | None = None, *, ttl: float = 30.0, poll: float = 1.0, on_tell=None
) -> int:
    """Work on the campaign until every island has its share of the budget.
    Returns the number of evaluations this worker stored.

    A worker evolves one island at a time, and besides it takes over, at once, any
    island whose lease expired (its worker died): it looks every heartbeat (ttl/3), so
    an orphaned island waits at most ttl plus one heartbeat, not until the survivors
    finish their own islands. When every island is done the campaign is finished."""
    worker = worker or default_worker_name()
    archive, cid, k = campaign.archive, campaign.info.id, campaign.config.islands
    evaluator = campaign._open_evaluator()
    tick = min(poll, ttl / 3)
    running: dict[int, IslandRun] = {}
    stopping = threading.Event()
    stored = 0
    archive.update_campaign(cid, status="running")
    try:
        while True:
            for island, island_run in list(running.items()):
                if not island_run.is_alive():
                    island_run.join()
                    del running[island]
                    stored += island_run.stored
                    if island_run.error is not None:
                        raise island_run.error
            done = archive.done_seqs(cid)
            unfinished = [i for i in range(k) if not _island_finished(campaign, i, done)]
            if not unfinished and not running:
                archive.update_campaign(cid, status="finished")
                return stored
            candidates = [i for i in unfinished if i not in running]
            # Idle: any free island. Busy: only orphans (a dead worker's), never a fresh one.
            leased: int | None = None
            if candidates:
                leased = archive.acquire_island(cid, worker, ttl, islands=candidates, orphans_only=bool(running))
            if leased is not None:
                if running:
                    log.info("island %d: its worker stopped renewing its lease; taking it over", leased)
                running[leased] = IslandRun(campaign, evaluator, leased, worker, ttl, on_tell, stopping)
                running[leased].start()
                continue
            time.sleep(tick)
    finally:
        stopping.set()
        for island_run in running.values():
            island_run.join()
        evaluator.sandbox.close()


def _seed_once(campaign: Campaign, evaluator: Evaluator) -> None:
    """Seed under the island lease; a worker that sees seeds already there does nothing."""
    store = campaign.store
    if store.events(kind="seeded") or store.count():
        return
    outcome = check_seed(evaluator)
    seed_islands(store, campaign.config.islands, outcome, campaign.problem.initial_program)
    store.log_event("seeded", {"objective": outcome.objective})


def _run_island(
    campaign: Campaign, evaluator: Evaluator, island: int, beat: Heartbeat, on_tell, stopping: threading.Event
) -> int:
    store = campaign.store
    while not store.count():  # island 0's holder is seeding
        if beat.lost.is_set() or stopping.is_set():
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
            return await loop.run(
                campaign.config.budget,
                islands=[island],
                keep_going=lambda: not (beat.lost.is_set() or stopping.is_set()),
            )
        finally:
            await operator.close()

    stats = asyncio.run(go())
    if stats.stopped_by and not beat.lost.is_set() and "told to stop" not in stats.stopped_by:
        # the operator gave up on this island (only duplicates/rejects): don't lease it again
        state = store.get_island_state(island)
        store.set_island_state(island, {**state, "exhausted": True})
    log.info("island %d: %s", island, stats)
    return stats.evaluations - before
