"""The campaign loop: one candidate from parent selection to stored child.

    seq n ──▶ _request: parents from the archive as of proposal n - window
          ──▶ operator.propose            (LLM call or GP mutation; async)
          ──▶ dedup by normalised code    (an identical child is never evaluated twice)
          ──▶ evaluator.evaluate          (sandbox + trusted score; in the worker pool)
          ──▶ store.add_program           (committed at once: the database is the checkpoint)

Determinism: proposal n draws its randomness from (seed, n) and sees only programs born
at or before n - window, and it is issued only once every proposal up to n - window is
stored. Stored programs become sampleable ("published") in proposal order, and dedup
prefers the earlier proposal, so the same seed, operator and budget give the same
campaign whatever the timing, and a campaign killed at any point and resumed redoes
exactly the proposals it had not stored.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from evolve import islands as island_policy
from evolve import wiring
from evolve.archive.campaign_store import CampaignStore
from evolve.archive.dedup import code_hash
from evolve.archive.new_program import NewProgram
from evolve.archive.records import ProgramRecord
from evolve.archive.selection import SelectionPolicy
from evolve.archive.store import SeqConflict
from evolve.config import Config
from evolve.constants import EVALUATED_STATUSES, NOT_EVALUATED_STATUSES, ProgramStatus
from evolve.diversity import NearDuplicates
from evolve.evaluate import Evaluator, Outcome
from evolve.operators.base import (
    ChoosesCrossoverRate,
    LearningOperator,
    Operator,
    Parent,
    ProblemBrief,
    Proposal,
    ProposalRequest,
)
from evolve.problems.contract import Problem

log = logging.getLogger(__name__)

SEED_BORN_AT = -(10**9)  # seeds are visible to every proposal
MAX_PROPOSALS_PER_EVALUATION = 50  # stop an operator that only repeats itself
NOT_EVALUATED = Outcome(status="error")  # what a rejected or duplicate proposal stores: no results


@dataclass
class Stats:
    evaluations: int = 0
    failures: int = 0
    duplicates: int = 0
    rejected: int = 0
    cost: float = 0.0
    best: float | None = None
    started: float = field(default_factory=time.monotonic)
    stopped_by: str | None = None


def evaluations_done(store: CampaignStore, done_seqs: set[int] | None = None) -> int:
    """Stored child evaluations: proposals that were neither rejected nor duplicates."""
    done = store.done_seqs() if done_seqs is None else done_seqs
    return len(done) - store.count(statuses=NOT_EVALUATED_STATUSES)


def island_evaluations(store: CampaignStore, island: int, islands: int, done_seqs: set[int]) -> int:
    proposals = sum(1 for s in done_seqs if s % islands == island)
    return proposals - store.count(statuses=NOT_EVALUATED_STATUSES, island=island)


def to_parent(record: ProgramRecord) -> Parent:
    return Parent(
        id=record.id,
        code=record.code,
        objective=record.objective,
        metrics=record.metrics or {},
        status=record.status,
        reason=record.reason,
        feedback=record.feedback,
        thought=record.thought,
        generation=record.generation,
    )


def brief(problem: Problem) -> ProblemBrief:
    return ProblemBrief(
        name=problem.name,
        description=problem.description,
        initial_program=problem.initial_program,
        objective=problem.objective,
        direction=problem.direction,
        entry_point=problem.entry_point,
    )


def seed_islands(store: CampaignStore, islands: int, outcome: Outcome, code: str) -> None:
    """Store the evaluated seed on island 0 and a copy of it on every other island."""
    first = None
    for island in range(islands):
        rec = store.add_program(
            NewProgram(
                code=code,
                island=island,
                status="ok",
                born_at=SEED_BORN_AT,
                operator="seed",
                metrics=outcome.metrics,
                objective=outcome.objective,
                fitness=outcome.fitness,
                descriptor=outcome.descriptor,
                feedback=outcome.feedback,
                stdout=outcome.stdout,
                eval_time=outcome.eval_time if first is None else None,
                duplicate_of=first,
            )
        )
        first = first or rec.id


class CampaignLoop:
    def __init__(
        self,
        *,
        store: CampaignStore,
        config: Config,
        problem: Problem,
        operator: Operator,
        evaluator: Evaluator | None,
        on_tell: Callable | None = None,
        retrain=None,
    ):
        self.store = store
        self.config = config
        self.problem = problem
        self.brief = brief(problem)
        self.template = problem.template
        self.operator = operator
        self.evaluator = evaluator
        self.on_tell = on_tell
        self.retrain = retrain  # evolve.retrain.Retrainer: the SOAR cycle, or None
        self.window = config.window
        self.stats = Stats()
        self._hashes: dict[int, asyncio.Future] = {}  # in-flight seq -> code hash (None: rejected)
        self._ids: dict[int, asyncio.Future] = {}  # in-flight seq -> stored program id
        self._db = ThreadPoolExecutor(1, thread_name_prefix="evolve-archive")
        self._island_state: dict[int, dict] = {}
        self.selection: SelectionPolicy = wiring.make_selection(config)
        # A resumed campaign's policy hears about its newest programs again (observing is idempotent).
        for p in sorted(store.programs(status="ok", order="-id", limit=2 * self.window), key=lambda p: p.born_at):
            self.selection.observe(p)
        self.near_duplicates = NearDuplicates(store, config)
        self._unpublished: list[ProgramRecord] = []  # stored, not yet sampleable (see _publish); archive thread only
        self._floors: dict[int, int] = {}
        self._policy_done: set[tuple[int, int]] = set()  # (island, seq) generation boundaries handled

    # -- the loop ---------------------------------------------------------------------
    async def run(
        self, budget: int, islands: list[int] | None = None, keep_going: Callable[[], bool] | None = None
    ) -> Stats:
        """Run proposals until each owned island has its share of ``budget`` evaluations.

        ``islands`` limits the loop to some islands (a worker's leased ones); proposal n
        belongs to island n % K, so workers on different islands never share a seq.
        ``keep_going`` is polled between proposals (a worker's lease heartbeat)."""
        a, k = self.store, self.config.islands
        owned = sorted(set(range(k) if islands is None else islands))
        done = a.done_seqs()
        quota = {i: budget // k + (i < budget % k) for i in owned}
        evaluated = {i: island_evaluations(a, i, k, done) for i in owned}
        self.stats.evaluations = sum(evaluated.values())
        best = a.best(1)
        self.stats.best = best[0].objective if best else None
        self._floors = {i: st["floor"] for i in range(k) if "floor" in (st := a.get_island_state(i))}
        self._policy_done = {(e.data["island"], e.data["at"]) for e in a.events(kind="islands")}
        self._unpublished = [p for p in a.unpublished() if p.seq is None or p.seq % k in owned]
        max_cost = getattr(self.config.llm, "max_cost", None) if self.config.llm else None
        self.stats.cost = a.spend()["cost"]
        proposals_left = budget * MAX_PROPOSALS_PER_EVALUATION
        if self.config.max_proposals is not None:
            proposals_left = min(proposals_left, self.config.max_proposals - len(done))

        inflight: dict[int, asyncio.Task] = {}
        seq = 0
        with ThreadPoolExecutor(self.config.workers, thread_name_prefix="evolve-eval") as pool:
            try:
                while True:
                    pending = {i: 0 for i in owned}
                    for s_ in inflight:
                        pending[s_ % k] += 1
                    open_islands = [i for i in owned if evaluated[i] + pending[i] < quota[i]]
                    if self.retrain is not None and self.retrain.due(len(done) + len(inflight)):
                        if inflight:  # fine-tune at an exact proposal count, on a settled archive
                            open_islands = []
                        else:
                            self.operator = await self.retrain(self.operator, len(done))
                    while (
                        open_islands and len(inflight) < self.window and all(s_ > seq - self.window for s_ in inflight)
                    ):
                        if max_cost is not None and self.stats.cost >= max_cost:
                            self.stats.stopped_by = f"cost limit {max_cost:g} reached"
                            break
                        if proposals_left <= 0:
                            self.stats.stopped_by = (
                                "max_proposals reached"
                                if self.config.max_proposals is not None
                                else "the operator keeps proposing duplicates or rejects"
                            )
                            break
                        if self.retrain is not None and self.retrain.due(len(done) + len(inflight)):
                            break  # a fine-tuning round is due: drain first
                        if keep_going is not None and not keep_going():
                            self.stats.stopped_by = "told to stop"
                            break
                        island = seq % k
                        if seq in done or island not in open_islands:
                            seq += 1
                            continue
                        self._hashes[seq] = asyncio.get_running_loop().create_future()
                        self._ids[seq] = asyncio.get_running_loop().create_future()
                        inflight[seq] = asyncio.create_task(self._one(seq, pool))
                        pending[island] += 1
                        if evaluated[island] + pending[island] >= quota[island]:
                            open_islands.remove(island)
                        proposals_left -= 1
                        seq += 1
                    if not inflight:
                        break
                    finished, _ = await asyncio.wait(inflight.values(), return_when=asyncio.FIRST_COMPLETED)
                    for task in finished:
                        s_, was_evaluated = self._finish(task)
                        del inflight[s_]
                        done.add(s_)
                        evaluated[s_ % k] += was_evaluated
                        self.stats.evaluations += was_evaluated
                    if self.stats.stopped_by:
                        break
                while inflight:  # let what is running finish and be stored
                    finished, _ = await asyncio.wait(inflight.values(), return_when=asyncio.FIRST_COMPLETED)
                    for task in finished:
                        s_, was_evaluated = self._finish(task)
                        del inflight[s_]
                        self.stats.evaluations += was_evaluated
            finally:
                for task in inflight.values():
                    task.cancel()
                for fut in [*self._hashes.values(), *self._ids.values()]:
                    fut.cancel()
                pool.shutdown(wait=False, cancel_futures=True)
                self._db.shutdown(wait=True)
        if self.stats.stopped_by:
            log.warning("campaign stopped early: %s", self.stats.stopped_by)
        return self.stats

    async def _one(self, seq: int, pool) -> tuple[int, bool]:
        """Propose, deduplicate, evaluate and store proposal ``seq``. Returns (seq, evaluated?)."""
        loop = asyncio.get_running_loop()
        request = await loop.run_in_executor(self._db, self._request, seq)
        started = time.monotonic()
        proposal = await self.operator.propose(request)
        proposal_time = time.monotonic() - started
        self.stats.cost += sum(c.cost for c in proposal.calls)
        store = functools.partial(self._store, seq=seq, request=request, proposal=proposal, proposal_time=proposal_time)

        code = proposal.code
        if code is not None:
            try:
                self.template.blocks_of(code)
            except ValueError as e:
                code, proposal.reason = None, str(e)
        if code is None:
            self._hashes[seq].set_result(None)
            await self._in_db(store, status="rejected", reason=proposal.reason or "no program proposed")
            self.stats.rejected += 1
            return seq, False
        h = code_hash(code)
        self._hashes[seq].set_result(h)

        store = functools.partial(store, code_hash=h)
        original = await self._original(seq, h, code)
        if original is not None:
            original_id, reason = original
            await self._in_db(store, status="duplicate", reason=reason, duplicate_of=original_id)
            self.stats.duplicates += 1
            return seq, False

        if self.evaluator is None:
            raise RuntimeError("this loop was built without an evaluator (ask/tell): it cannot run proposals")
        outcome = await loop.run_in_executor(pool, self.evaluator.evaluate, code)
        try:
            record = await self._in_db(store, status=outcome.status, outcome=outcome)
        except SeqConflict:  # another worker took this island over and stored it first
            log.warning("proposal %d was stored by another worker; dropping this copy", seq)
            return seq, False
        self._ids[seq].set_result(record.id)
        self._learn(proposal, request, outcome)
        return seq, True

    async def _original(self, seq: int, h: str, code: str) -> tuple[int, str] | None:
        """The program this child repeats, if any, and how (the rejection reason). Earlier
        proposals win, in seq order, whatever order the operator answered in: so replays
        dedup identically."""
        same = "identical to an archived program"
        for earlier in sorted(s for s in self._hashes if s < seq):
            try:
                if await asyncio.shield(self._hashes[earlier]) == h:
                    return await asyncio.shield(self._ids[earlier]), same
            except (asyncio.CancelledError, KeyError):
                continue
        found = await self._in_db(self.store.find_by_hash, h)
        if found is None and self.near_duplicates.enabled:  # optional: near-identical by embedding
            near = await self._in_db(self.near_duplicates.near_duplicate, code)
            if near is not None:
                return (
                    near.program_id,
                    f"near-duplicate (similarity {near.similarity:.4f}) of program {near.program_id}",
                )
        return (found.id, same) if found else None

    async def _in_db(self, fn, *args, **kwargs):
        """Archive work runs on one dedicated thread: the event loop stays free for
        model calls, and writes keep their order."""
        return await asyncio.get_running_loop().run_in_executor(self._db, functools.partial(fn, *args, **kwargs))

    def _finish(self, task: asyncio.Task) -> tuple[int, bool]:
        seq, evaluated = task.result()
        for futs in (self._hashes, self._ids):
            fut = futs.pop(seq)
            if not fut.done():
                fut.cancel()
        return seq, evaluated

    # -- parents and context ----------------------------------------------------------
    def _publish(self, visible: int) -> None:
        """Make stored programs sampleable once proposals may see them, in proposal order:
        sampling positions and child counts then never depend on evaluation timing."""
        ready = [p for p in self._unpublished if p.born_at <= visible]
        if ready:
            self._unpublished = [p for p in self._unpublished if p.born_at > visible]
            self.store.publish(sorted(ready, key=lambda p: (p.born_at, p.id)))

    def _request(self, seq: int) -> ProposalRequest:
        cfg = self.config
        self._publish(seq - self.window)
        self._between_generations(seq)
        island = seq % cfg.islands
        rng = random.Random(f"{cfg.seed}:{seq}")
        view = dict(max_born_at=seq - self.window)
        op = self.operator
        rate = op.crossover_rate if isinstance(op, ChoosesCrossoverRate) else cfg.crossover_rate
        crossover = op.crossover_arity >= 2 and rng.random() < rate
        k = 2 if crossover else 1
        parents = self.store.sample_parents(island, k, self.selection, rng, max_born_at=view["max_born_at"])
        if island in self._floors:  # the island was reset: programs from before are out of play
            view["min_born_at"] = self._floors[island]
            parents = [p for p in parents if p.born_at >= view["min_born_at"]]
            if len(parents) < k:
                pool = self.store.elites(island, 4 * k, **view)
                parents += rng.sample(pool, min(k - len(parents), len(pool)))
        if not parents:  # an island of failures only: fall back to its best-known program
            parents = self.store.elites(island, 1, **view) or self.store.best(1)
        ids = {p.id for p in parents}
        inspirations = [
            p for p in self.store.elites(island, cfg.inspirations + len(parents), **view) if p.id not in ids
        ][: cfg.inspirations]
        state = self._state(island)
        return ProposalRequest(
            problem=self.brief,
            parents=[to_parent(p) for p in parents],
            inspirations=[to_parent(p) for p in inspirations],
            island=island,
            seq=seq,
            seed=rng.getrandbits(63),
            reflection=state.get("reflection"),
            context={"crossover": len(parents) > 1, "generation": max(p.generation for p in parents) + 1},
        )

    def _between_generations(self, seq: int) -> None:
        """At an island's generation boundary: pull migrants from the previous island in
        the ring, and maybe reset the island if it is in the weaker half. Both see the
        archive as proposal ``seq`` does, so they are deterministic and resumable."""
        cfg = self.config
        island, local = seq % cfg.islands, seq // cfg.islands
        if local == 0 or local % cfg.generation_size or (island, seq) in self._policy_done:
            return
        generation = local // cfg.generation_size
        visible = seq - self.window
        data: dict = {"island": island, "at": seq, "generation": generation}
        if cfg.migration_interval and generation % cfg.migration_interval == 0:
            data["migrated"] = island_policy.pull_migrants(
                self.store, island, cfg.islands, cfg.migration_size, visible, self._floors
            )
        if cfg.reset_interval and generation % cfg.reset_interval == 0:
            rng = random.Random(f"{cfg.seed}:reset:{seq}")
            if island_policy.reset_if_weak(self.store, island, cfg.islands, visible, self._floors, rng):
                data["reset"] = True
                self._set_state(island, floor=self._floors[island])
        self.store.log_event("islands", data)
        self._policy_done.add((island, seq))

    def _state(self, island: int) -> dict:
        if island not in self._island_state:  # this loop is the island's only writer
            self._island_state[island] = self.store.get_island_state(island)
        return self._island_state[island]

    def _set_state(self, island: int, **changes) -> None:
        state = {**self._state(island), **changes}
        self._island_state[island] = state
        self.store.set_island_state(island, state)

    # -- storing ----------------------------------------------------------------------
    def _store(
        self,
        *,
        seq: int,
        request: ProposalRequest,
        proposal: Proposal,
        proposal_time: float,
        status: ProgramStatus,
        reason: str | None = None,
        outcome: Outcome | None = None,
        duplicate_of: int | None = None,
        code_hash: str | None = None,
        publish: bool = False,
    ):
        o = outcome if outcome is not None else NOT_EVALUATED
        new = NewProgram(
            code=proposal.code or "",
            island=request.island,
            status=status,
            seq=seq,
            born_at=seq,
            generation=request.context["generation"],
            parent_ids=[p.id for p in request.parents],
            operator=proposal.operator,
            model=proposal.model,
            reason=o.reason or reason,
            metrics=o.metrics,
            objective=o.objective,
            fitness=o.fitness,
            descriptor=o.descriptor,
            feedback=o.feedback,
            thought=proposal.thought,
            stdout=o.stdout or None,
            eval_time=o.eval_time if outcome else None,
            proposal_time=proposal_time,
            input_tokens=sum(c.input_tokens for c in proposal.calls),
            output_tokens=sum(c.output_tokens for c in proposal.calls),
            cost=sum(c.cost for c in proposal.calls),
            duplicate_of=duplicate_of,
            llm_calls=proposal.calls,
            code_hash=code_hash,
            publish=publish,
        )
        record = self.store.add_program(new)
        if not publish:
            self._unpublished.append(record)
        self.selection.observe(record)
        self.near_duplicates.stored(record)
        if proposal.reflection is not None:
            self._set_state(request.island, reflection=proposal.reflection)
        if status in EVALUATED_STATUSES and status != "ok":
            self.stats.failures += 1
        if record.objective is not None and self.problem.better(record.objective, self.stats.best):
            self.stats.best = record.objective
        if self.on_tell is not None:
            self.on_tell(record, self.stats)
        return record

    def _learn(self, proposal: Proposal, request: ProposalRequest, outcome: Outcome) -> None:
        if isinstance(self.operator, LearningOperator):
            parent = request.parents[0]
            self.operator.report(proposal, self.problem.fitness(parent.objective), outcome.fitness, outcome.status)
