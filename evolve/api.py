"""The public Python API, in the spirit of Optuna: a campaign lives in a storage URL.

campaign = evolve.create_campaign("bin_packing", storage="sqlite:///bp.db", budget=200)
campaign.run()                 # resumes if the campaign already exists
best = campaign.best()         # ProgramRecord: code, objective, metrics, ...

trial = campaign.ask()         # for users who evaluate candidates themselves
campaign.tell(trial, metrics={"score": 1.0})
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from evolve import wiring
from evolve.archive.campaign_store import CampaignStore
from evolve.archive.db import safe_url
from evolve.archive.records import CampaignInfo
from evolve.archive.store import Archive
from evolve.campaign import CampaignLoop, evaluations_done, seed_islands
from evolve.config import Config, build_config, merge_for_resume
from evolve.constants import DEFAULT_STORAGE, EVALUATED_STATUSES, EvalStatus
from evolve.errors import CampaignNotFound, ConfigError, ProblemError
from evolve.evaluate import Evaluator, Outcome, check_seed
from evolve.problems.contract import Problem
from evolve.run_lease import RunLease
from evolve.stored_problem import StoredProblem, problem_summary

log = logging.getLogger(__name__)


@dataclass
class Trial:
    """A proposed child waiting for the user's evaluation (ask/tell)."""

    seq: int
    code: str
    island: int
    parent_ids: list[int]
    operator: str
    _request: Any = None
    _proposal: Any = None


class Campaign:
    def __init__(self, archive: Archive, info: CampaignInfo, config: Config, problem: Problem):
        self.archive = archive
        self.store: CampaignStore = archive.campaign_store(info.id)
        self.info = info
        self.config = config
        self.problem = problem
        self._pending: dict[int, Trial] = {}

    @property
    def name(self) -> str:
        return self.info.name

    # -- running ------------------------------------------------------------------------
    def _open_evaluator(self) -> Evaluator:
        _require_runnable(self.problem)
        sandbox = wiring.make_sandbox(self.config)
        state = {**self.info.state, "sandbox": getattr(sandbox, "describe", lambda: sandbox.name)()}
        self.info = self.archive.update_campaign(self.info.id, state=state)
        return Evaluator(self.problem, sandbox, self.config.time_limit, self.config.memory_mb, self.config.parsimony)

    def _ensure_seeded(self, evaluator: Evaluator) -> None:
        if self.archive.count(self.info.id) == 0:
            outcome = check_seed(evaluator)
            seed_islands(self.store, self.config.islands, outcome, self.problem.initial_program)
            self.store.log_event("seeded", {"objective": outcome.objective})

    def run(
        self, budget: int | None = None, on_tell: Callable | None = None, replay: dict | None = None, operator=None
    ):
        """Run (or resume) until ``budget`` child evaluations are stored. Returns the stats.

        ``operator`` replaces the configured one with any object implementing
        ``evolve.operators.base.Operator`` (your own mutation strategy)."""
        if budget is not None and budget != self.config.budget:
            self.config.budget = budget  # validated on assignment
            self.archive.update_campaign(self.info.id, config=self.config.stored())
        done = self._already_done()
        if done is not None:  # nothing left: no sandbox is chosen, no model is called
            return done
        with RunLease(self.archive, self.info, self.config.islands):  # one `evolve run` at a time
            evaluator = self._open_evaluator()
            operator = operator or wiring.make_operator(self.config, replay=replay)
            try:
                return asyncio.run(self._run(operator, evaluator, on_tell))
            finally:
                evaluator.sandbox.close()

    def _already_done(self):
        """The stats of a campaign whose budget is already stored (a resume with nothing
        to do), else None."""
        from evolve.campaign import Stats

        cid = self.info.id
        if not self.archive.count(cid):
            return None
        done = evaluations_done(self.store)
        if done < self.config.budget:
            return None
        best = self.archive.best(cid, 1)
        self.archive.update_campaign(cid, status="finished")
        return Stats(evaluations=done, best=best[0].objective if best else None)

    async def _run(self, operator, evaluator, on_tell):
        retrain = None
        if self.config.finetune_every:
            from evolve.retrain import Retrainer

            retrain = Retrainer(self, evaluator)
            operator = retrain.current_operator() or operator
        await operator.start()  # an unreachable model or missing key stops here, before any work
        endpoints = getattr(operator, "endpoints", None)
        if endpoints is not None and endpoints():
            self.info = self.archive.update_campaign(self.info.id, state={**self.info.state, "llm": endpoints()})
        try:
            await asyncio.to_thread(self._ensure_seeded, evaluator)
            loop = CampaignLoop(
                store=self.store,
                config=self.config,
                problem=self.problem,
                operator=operator,
                evaluator=evaluator,
                on_tell=on_tell,
                retrain=retrain,
            )
            self.archive.update_campaign(self.info.id, status="running")
            try:
                stats = await loop.run(self.config.budget)
            except asyncio.CancelledError:  # Ctrl-C: everything stored so far stays; resume later
                self.archive.update_campaign(self.info.id, status="stopped")
                raise
            operator = loop.operator  # fine-tuning may have replaced it
            finished = stats.evaluations >= self.config.budget
            self.archive.update_campaign(self.info.id, status="finished" if finished else "stopped")
            return stats
        finally:
            await operator.close()

    # -- results ------------------------------------------------------------------------
    def refresh(self) -> CampaignInfo:
        """The campaign's stored record as it is now (status, state, config)."""
        info = self.archive.get_campaign_by_id(self.info.id)
        if info is None:
            raise CampaignNotFound(f"campaign {self.name!r} is no longer in {self.archive.url}")
        self.info = info
        return info

    def best(self, k: int | None = None):
        """The best program (or the best ``k``) by objective."""
        top = self.archive.best(self.info.id, k or 1)
        if k is None:
            return top[0] if top else None
        return top

    def status(self) -> dict[str, Any]:
        cid = self.info.id
        best = self.best()
        info = self.refresh()
        return {
            "name": self.name,
            "problem": self.problem.name,
            "status": info.status,
            "budget": self.config.budget,
            "evaluations": evaluations_done(self.store),
            "by_status": self.archive.status_counts(cid, proposals_only=True),
            "seeds": self.archive.count(cid, operator="seed"),
            "best": best.objective if best else None,
            "objective": self.problem.objective,
            "direction": self.problem.direction,
            "spend": self.archive.spend(cid),
            "islands": self.island_view(),
            "cells": self.cell_view(),
            "sandbox": info.state.get("sandbox"),
            **score_trust(self.problem),
            "llm_endpoints": info.state.get("llm") or {},
        }

    def island_view(self) -> dict[int, dict[str, Any]]:
        """Per island: best objective, ok programs, lease holder (for workers)."""
        cid = self.info.id
        sizes = self.archive.island_sizes(cid)
        owners = {lease.island: lease.owner for lease in self.archive.leases(cid)}
        view = {}
        for i in range(self.config.islands):
            top = self.archive.elites(cid, i, 1)
            view[i] = {
                "best": top[0].objective if top else None,
                "ok_programs": sizes.get(i, 0),
                "worker": owners.get(i),
            }
        return view

    def cell_view(self) -> dict[str, Any] | None:
        """MAP-Elites cells (filled, coverage, QD score, best per cell) when the campaign uses them."""
        if self.config.selection != "map_elites":
            return None
        from evolve.archive.policies.map_elites import MapElites, make_grid

        grid = MapElites(self.store, make_grid(self.config.map_elites))
        cells = {f"{island}:{cell}": p.objective for (island, cell), p in grid.elites().items()}
        return {**grid.stats(), "cells": cells}

    def diverse_elites(self, k: int):
        """Up to ``k`` programs from different MAP-Elites cells (or code-shape cells), best first."""
        from evolve.archive.policies.descriptors import ast_shape_hash

        picked, cells = [], set()
        for program in self.archive.best(self.info.id, max(50, 20 * k)):
            cell = ast_shape_hash(program.code)
            if cell not in cells:
                cells.add(cell)
                picked.append(program)
            if len(picked) == k:
                break
        return picked

    def export(self, out_dir: str, top: int = 5, diverse: bool = False):
        """Write the best ``top`` programs (``diverse``: one per code-shape cell)."""
        from evolve.export import export_programs

        return export_programs(self, out_dir, top, diverse=diverse)

    # -- ask / tell ---------------------------------------------------------------------
    def ask(self) -> Trial:
        """Propose the next child without evaluating it."""
        _require_runnable(self.problem)
        operator = wiring.make_operator(self.config)
        loop = CampaignLoop(
            store=self.store,
            config=self.config,
            problem=self.problem,
            operator=operator,
            evaluator=None,
        )
        if self.archive.count(self.info.id) == 0:
            raise ProblemError("the campaign has no seed yet: call tell_seed(metrics) or run() first")
        done = self.archive.done_seqs(self.info.id)
        seq = next(s for s in range(len(done) + len(self._pending) + 1) if s not in done and s not in self._pending)
        request = loop._request(seq)
        proposal = asyncio.run(_propose(operator, request))
        trial = Trial(
            seq,
            proposal.code or "",
            request.island,
            [p.id for p in request.parents],
            proposal.operator,
            request,
            proposal,
        )
        self._pending[seq] = trial
        return trial

    def tell(
        self, trial: Trial, metrics: dict[str, float] | None = None, *, status: str = "ok", reason: str | None = None
    ):
        """Store the user's evaluation of an asked trial (metrics must hold the objective)."""
        if trial.seq not in self._pending:
            raise ConfigError(f"trial {trial.seq} was not asked by this campaign object or was told already")
        if status not in EVALUATED_STATUSES:
            raise ConfigError(f"tell() status must be one of {', '.join(EVALUATED_STATUSES)}, not {status!r}")
        outcome = Outcome(status=cast(EvalStatus, status), reason=reason)
        if status == "ok":
            if not metrics or self.problem.objective not in metrics:
                raise ConfigError(f"tell() needs metrics with the objective {self.problem.objective!r}")
            outcome.metrics = {k: float(v) for k, v in metrics.items()}
            outcome.objective = outcome.metrics[self.problem.objective]
            outcome.fitness = self.problem.fitness(outcome.objective)
        loop = CampaignLoop(
            store=self.store,
            config=self.config,
            problem=self.problem,
            operator=wiring.make_operator(self.config),
            evaluator=None,
        )
        del self._pending[trial.seq]
        return loop._store(
            seq=trial.seq,
            request=trial._request,
            proposal=trial._proposal,
            proposal_time=0.0,
            status=outcome.status,
            reason=reason,
            outcome=outcome,
            publish=True,
        )

    def tell_seed(self, metrics: dict[str, float]) -> None:
        """Store the initial program's metrics (ask/tell campaigns evaluate the seed themselves)."""
        if self.archive.count(self.info.id):
            return
        objective = float(metrics[self.problem.objective])
        seed_islands(
            self.store,
            self.config.islands,
            Outcome("ok", metrics=dict(metrics), objective=objective, fitness=self.problem.fitness(objective)),
            self.problem.initial_program,
        )


def score_trust(problem: Problem) -> dict[str, str | None]:
    """Who computed the scores: the problem's trusted scorer, or an evaluator that ran in
    the sandbox next to the candidate (a peer engine's folder), with the way out."""
    if problem.untrusted_scores:
        from evolve.problems.peers.load import HINT

        return {"scores": problem.untrusted_scores, "scores_hint": HINT}
    return {"scores": "verified by the problem's trusted scorer", "scores_hint": None}


def _require_runnable(problem) -> None:
    if isinstance(problem, StoredProblem):
        raise ProblemError(problem.unavailable())


async def _propose(operator, request):
    await operator.start()
    try:
        return await operator.propose(request)
    finally:
        await operator.close()


def _open(storage: str) -> Archive:
    return Archive(storage)


def _load(spec, case_set):
    from evolve.problems.loader import load_problem

    return load_problem(spec, case_set=case_set)


def create_campaign(
    problem: str | Problem = "bin_packing",
    *,
    storage: str | None = None,
    name: str | None = None,
    config: Config | dict | None = None,
    **settings,
) -> Campaign:
    """Create a campaign, or load it if one with that name exists (then it resumes).

    ``settings`` are Config fields (budget=, islands=, seed=, workers=, ...). On resume,
    only budget/workers/sandbox may differ from the stored settings.
    """
    given: dict[str, Any] = {}
    if config is not None:
        given.update(config.model_dump(mode="json", exclude_unset=True) if isinstance(config, Config) else dict(config))
    given.update({k: v for k, v in settings.items() if v is not None})
    if storage:
        given["storage"] = storage
    given["problem"] = problem.name if isinstance(problem, Problem) else str(problem)
    first = build_config(given)
    prob = problem if isinstance(problem, Problem) else _load(first.problem, first.case_set)
    cname = name or first.campaign_name(prob.name)
    given["name"] = cname
    archive = _open(first.storage)
    existing = archive.get_campaign(cname)
    if existing is not None:
        if existing.problem != prob.name:
            raise ConfigError(
                f"campaign {cname!r} in {safe_url(first.storage)} evolves {existing.problem!r}, "
                f"not {prob.name!r}: pass --name to start a new campaign"
            )
        cfg = merge_for_resume(existing.config, given)
        info = existing
        if cfg.stored() != existing.config:
            info = archive.update_campaign(existing.id, config=cfg.stored())
        log.info("resuming campaign %r", cname)
    else:
        cfg = build_config(given)
        if cfg.operator_kind == "llm" and cfg.llm is not None:
            cfg.llm.check_prices()  # refuse a cost cap that cannot work before storing anything
        info = archive.create_campaign(cname, prob.name, cfg.stored())
        info = archive.update_campaign(info.id, state={**info.state, "problem": problem_summary(prob)})
    return Campaign(archive, info, cfg, prob)


def load_campaign(name: str, storage: str = DEFAULT_STORAGE, problem: Problem | None = None) -> Campaign:
    """Open an existing campaign (its problem is loaded from the stored spec unless given)."""
    archive = _open(storage)
    info = archive.get_campaign(name)
    if info is None:
        known = ", ".join(c.name for c in archive.list_campaigns()) or "none"
        raise CampaignNotFound(f"no campaign named {name!r} in {safe_url(storage)} (campaigns there: {known})")
    cfg = build_config({**info.config, "storage": storage})  # the stored URL has no password
    if problem is None:
        problem = _stored_or_loaded(name, info, cfg)
    return Campaign(archive, info, cfg, problem)


def _stored_or_loaded(name: str, info, cfg: Config):
    """The campaign's problem, loaded from its spec; where it cannot be loaded (an
    in-memory ``evolve.Problem``, a folder moved away) what the archive recorded of it,
    which is enough to inspect the campaign (status, best, export) but not to evaluate."""
    summary = info.state.get("problem")
    if summary and summary.get("source") is None:
        return StoredProblem.from_archive(info, "it was created from an evolve.Problem object")
    try:
        return _load(cfg.problem, cfg.case_set)
    except ProblemError as e:
        return StoredProblem.from_archive(info, f"its problem cannot be loaded ({e})")
