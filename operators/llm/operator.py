"""The LLM operator: parents + context in, one child program (or a reasoned rejection) out.

Per proposal, all randomness comes from ``request.seed``: which model answers (weighted
ensemble), which kind of edit is asked for (diff / rewrite by the configured mix;
crossover whenever the campaign hands over two or more parents), which crossover
variant (EoH E1 "a different form" / E2 "the common backbone"). With reflection on, a
crossover is preceded by ReEvo's short-term reflection (compare the better and the
worse parent, hints for the crossover) and a long-term update that folds the hints into
the island's accumulated insights, returned in ``Proposal.reflection``.

``propose()`` never raises for a bad reply or a failed call: the campaign stores the
rejected proposal with its reason and the calls that produced it. Only ``start()``
raises (OperatorError) for problems the user must fix.
"""

from __future__ import annotations

import asyncio
import logging
import random
from functools import lru_cache

from evolve.errors import ProblemError
from evolve.operators.base import Parent, Proposal, ProposalRequest
from evolve.operators.llm.calls import TRUNCATED, CallFailed, CallSession
from evolve.operators.llm.client import LLMClient
from evolve.operators.llm.config import LLMConfig
from evolve.operators.llm.diff import DiffError, apply_diff, parse_diff
from evolve.operators.llm.ensemble import BanditEnsemble, WeightedEnsemble
from evolve.operators.llm.factory import make_client
from evolve.operators.llm.parse import ReplyError, blocks_from_reply, extract_thought
from evolve.operators.llm.prompts import Prompts
from evolve.operators.llm.replay import ReplayClient
from evolve.problems.blocks import Template, split

log = logging.getLogger(__name__)
MAX_REFLECTION = 3000  # characters of island insights kept


class Rejected(Exception):
    """The reply cannot become a child; the message is the rejection reason."""


@lru_cache(maxsize=64)
def _template(initial_program: str) -> Template:
    return split(initial_program)


class LLMOperator:
    name = "llm"
    crossover_arity = 2

    def __init__(
        self,
        config: LLMConfig,
        clients: list[LLMClient] | None = None,
        replay: ReplayClient | None = None,
    ) -> None:
        self.config = config
        self.prompts = Prompts(config.templates_dir)
        self.names = _unique_names([m.spec for m in config.models])
        """What Proposal.model and LLMCall.model say for each configured model."""
        self.replay = replay
        if replay is None:
            config.check_prices()  # recorded calls carry their own costs
        if replay is not None:
            self.clients: list[LLMClient | None] = [None] * len(config.models)
        elif clients is not None:
            self.clients = list(clients)
        else:
            self.clients = [
                make_client(
                    m.spec,
                    base_url=m.base_url,
                    api_key_env=m.api_key_env,
                    timeout=m.timeout,
                    max_retries=m.max_retries,
                    concurrency=config.concurrency,
                )
                for m in config.models
            ]
        weights = [m.weight for m in config.models]
        self.ensemble = BanditEnsemble(weights) if config.ensemble == "bandit" else WeightedEnsemble(weights)
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self.total_cost = 0.0
        """USD spent on model calls so far (replays count the recorded costs)."""

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def crossover_rate(self) -> float:
        """How often the campaign should hand over 2 parents (the mix's crossover share)."""
        return self.config.crossover_rate

    @property
    def budget_exhausted(self) -> bool:
        return self.config.max_cost is not None and self.total_cost >= self.config.max_cost

    async def start(self) -> None:
        """Check every model: key present, server reachable, model served (OperatorError otherwise)."""
        live = [c for c in self.clients if c is not None]
        await asyncio.gather(*(c.start() for c in live))
        log.info("llm operator ready: %s", ", ".join(self.names) if live else "replay")

    def endpoints(self) -> dict[str, str]:
        """The address each model is reached at (shown by `evolve status`)."""
        found = {name: getattr(client, "address", None) for name, client in zip(self.names, self.clients)}
        return {name: address for name, address in found.items() if address}  # API clients only

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients if c is not None), return_exceptions=True)

    # -- proposing ------------------------------------------------------------------------

    def _semaphore(self) -> asyncio.Semaphore:
        # One per event loop: a semaphore cannot be shared across loops (tests run several).
        loop = id(asyncio.get_running_loop())
        if loop not in self._semaphores:
            self._semaphores[loop] = asyncio.Semaphore(self.config.concurrency)
        return self._semaphores[loop]

    def _charge(self, cost: float) -> None:
        self.total_cost += cost

    def _choose_model(self, request: ProposalRequest) -> int:
        if self.replay is not None:
            recorded = self.replay.model_of(request.seq)
            if recorded in self.names:
                return self.names.index(recorded)
        # Separate streams, so replaying (which skips this choice) leaves the others unchanged.
        return self.ensemble.choose(random.Random(f"{request.seed}:model"))

    def _choose_kind(self, request: ProposalRequest, rng: random.Random) -> str:
        if len(request.parents) >= 2:
            return "crossover"
        kinds = [k for k in ("diff", "rewrite") if self.config.mix.get(k, 0) > 0]
        return rng.choices(kinds, weights=[self.config.mix[k] for k in kinds])[0]

    async def propose(self, request: ProposalRequest) -> Proposal:
        rng = random.Random(f"{request.seed}:kind")
        kind = self._choose_kind(request, rng)
        operator = f"{self.name}.{kind}"
        parent_ids = [p.id for p in request.parents]
        if self.budget_exhausted and self.replay is None:
            reason = f"the cost cap max_cost={self.config.max_cost} is reached (spent {self.total_cost:.4f})"
            return Proposal(code=None, operator=operator, reason=reason, parent_ids=parent_ids)
        arm = self._choose_model(request)
        session = CallSession(
            seq=request.seq,
            seed=request.seed,
            name=self.names[arm],
            model=self.config.models[arm],
            client=self.clients[arm],
            replay=self.replay,
            semaphore=self._semaphore(),
            charge=self._charge,
        )
        proposal = Proposal(
            code=None, operator=operator, model=self.names[arm], calls=session.calls, parent_ids=parent_ids
        )
        try:
            template = _template(request.problem.initial_program)
            if kind == "crossover":
                variant = rng.choice(("e1", "e2"))
                proposal.operator = f"{operator}.{variant}"
                code, text, proposal.reflection = await self._crossover(request, session, template, variant)
            else:
                code, text = await self._mutate(request, session, template, kind)
            proposal.code = code
            proposal.thought = extract_thought(text)
        except (Rejected, CallFailed) as e:
            proposal.reason = str(e)
        except Exception as e:  # a bug here must not stop the campaign: reject, and say so loudly
            log.exception("llm operator failed on seq %d", request.seq)
            proposal.reason = f"internal error in the llm operator: {type(e).__name__}: {e}"
        return proposal

    async def _reply(self, session: CallSession, messages, purpose: str = "propose") -> str:
        done = await session.ask(messages, purpose)
        call = session.calls[-1]
        if purpose == "propose" and call.error and call.error.startswith(TRUNCATED):
            raise Rejected(f"the reply was {call.error}: raise max_tokens or ask for smaller edits")
        return done.text

    async def _mutate(
        self, request: ProposalRequest, session: CallSession, template: Template, kind: str
    ) -> tuple[str, str]:
        parent = request.parents[0]
        text = await self._reply(session, self.prompts.mutation(kind, request))
        try:
            if kind == "diff":
                child = apply_diff(parent.code, parse_diff(text))
                blocks = _blocks_of(template, child)
            else:
                blocks = blocks_from_reply(template, text)
        except (DiffError, ReplyError) as e:
            raise Rejected(str(e)) from None
        return _finish(template, blocks, parent), text

    async def _crossover(
        self, request: ProposalRequest, session: CallSession, template: Template, variant: str
    ) -> tuple[str, str, str | None]:
        hints = reflection = None
        if self.config.reflection:
            better, worse = _better_worse(request)
            try:  # a failed reflection costs the hints, not the crossover
                hints = (
                    await self._reply(session, self.prompts.reflect_short(request, better, worse), "reflect")
                ).strip()
                long = await self._reply(session, self.prompts.reflect_long(request, hints), "reflect")
                reflection = long.strip()[:MAX_REFLECTION] or None
            except CallFailed as e:
                log.info("reflection skipped for seq %d: %s", request.seq, e)
        text = await self._reply(session, self.prompts.crossover(variant, request, hints))
        try:
            blocks = blocks_from_reply(template, text)
        except ReplyError as e:
            raise Rejected(str(e)) from None
        return _finish(template, blocks, request.parents[0]), text, reflection

    def report(
        self, proposal: Proposal, parent_fitness: float | None, child_fitness: float | None, status: str
    ) -> None:
        """Credit the model that made ``proposal`` with its gain (for the bandit)."""
        if proposal.model not in self.names:
            return
        gain = 0.0
        if status == "ok" and child_fitness is not None:
            gain = child_fitness - parent_fitness if parent_fitness is not None else 0.0
        cost = sum(c.cost for c in proposal.calls)
        self.ensemble.update(self.names.index(proposal.model), gain, cost)


def _blocks_of(template: Template, child: str) -> list[str]:
    try:
        return template.blocks_of(child)
    except (ValueError, ProblemError):
        raise Rejected("the diff edits code outside the EVOLVE-BLOCK regions (the fixed skeleton)") from None


def _finish(template: Template, blocks: list[str], parent: Parent) -> str:
    child = template.rebuild(blocks)
    try:
        compile(child, "<child>", "exec")
    except SyntaxError as e:
        raise Rejected(f"the child has a syntax error at line {e.lineno}: {e.msg}") from None
    if child == parent.code:
        raise Rejected("the reply does not change the program")
    return child


def _better_worse(request: ProposalRequest) -> tuple[Parent, Parent]:
    """The best and the worst parent by objective (failed programs count as worst)."""
    sign = 1.0 if request.problem.direction == "max" else -1.0
    ranked = sorted(
        request.parents, key=lambda p: float("-inf") if p.objective is None or p.status != "ok" else sign * p.objective
    )
    return ranked[-1], ranked[0]


def _unique_names(specs: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for spec in specs:
        seen[spec] = seen.get(spec, 0) + 1
        names.append(spec if seen[spec] == 1 else f"{spec}#{seen[spec]}")
    return names
