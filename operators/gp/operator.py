"""The offline genetic-programming operator: AST mutation and crossover of evolve blocks.

It needs no model, so it is the engine's default when none is configured and the
baseline LLM operators have to beat. A proposal is a pure function of the request:
``random.Random(request.seed)`` drives every choice, so the same request gives the same
child. Only the evolve blocks change; the child is rebuilt from the seed's skeleton.
"""

from __future__ import annotations

import ast
import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

from evolve.operators.base import Parent, Proposal, ProposalRequest
from evolve.operators.gp.crossover import crossover
from evolve.operators.gp.mutate import DEFAULT_WEIGHTS, Context, mutate
from evolve.operators.gp.source import Program, expr_depth, load, normalise, size
from evolve.problems.blocks import Template, split

log = logging.getLogger(__name__)


class GPOperator:
    """Mutation (one parent) and crossover (two or more) over the evolve blocks' ASTs.

    weights: relative frequency of each mutation kind (see ``mutate.DEFAULT_WEIGHTS``);
        kinds left out keep their default, a weight of 0 disables a kind.
    crossover_mutation: chance that a crossover child is also mutated once.
    extra_mutation: chance of each further stacked mutation on a mutated child.
    max_nodes: AST nodes a block may have; default ``max(150, 3 x the seed's block)``.
    max_depth: deepest expression nesting a block may have.
    attempts: tries for a child that parses, fits the limits and differs from its parent.
    salt: mixed into every seed, so two campaigns with equal seeds can still differ.
    """

    name = "gp"
    crossover_arity = 2

    def __init__(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        crossover_mutation: float = 0.3,
        extra_mutation: float = 0.2,
        max_nodes: int | None = None,
        max_depth: int = 10,
        attempts: int = 24,
        salt: int = 0,
    ) -> None:
        unknown = set(weights or {}) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown GP mutation kinds {sorted(unknown)}; known: {sorted(DEFAULT_WEIGHTS)}")
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.crossover_mutation = crossover_mutation
        self.extra_mutation = extra_mutation
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.attempts = attempts
        self.salt = salt

    async def start(self) -> None:
        """Nothing to check: the operator runs locally."""

    async def close(self) -> None:
        """Nothing to release."""

    async def propose(self, request: ProposalRequest) -> Proposal:
        return self.propose_now(request)

    def propose_now(self, request: ProposalRequest) -> Proposal:
        """The synchronous core of ``propose`` (no I/O, deterministic in the request)."""
        if not request.parents:
            return Proposal(code=None, operator="gp", reason="no parent to vary")
        template = split(request.problem.initial_program)
        primary = request.parents[0]
        try:
            parent = load(template, primary.code)
        except ValueError as e:
            return Proposal(code=None, operator="gp", reason=f"parent {primary.id}: {e}", parent_ids=[primary.id])
        if not any(b.mutable for b in parent.blocks):
            return Proposal(
                code=None, operator="gp", reason="no evolve block parses on its own", parent_ids=[primary.id]
            )
        job = _Job(
            rng=random.Random(request.seed if not self.salt else f"{self.salt}:{request.seed}"),
            seed=load(template, request.problem.initial_program),
            hints=hints(request.problem.description),
        )
        before = normalise(primary.code)
        donor = self._donor(request, template, job.rng)
        for _ in range(self.attempts):
            child = parent.copy()
            try:
                if donor is not None:
                    made = self._cross(job, child, donor[0])
                    if made is None:
                        donor = None  # nothing to graft: mutate instead from now on
                        continue
                    ids = [primary.id, donor[1].id]
                else:
                    made = self._mutate(job, child)
                    if made is None:
                        break
                    ids = [primary.id]
            except (SyntaxError, ValueError, TypeError, AttributeError, RecursionError) as e:
                # An odd tree the edit or ast.unparse cannot handle: try another edit.
                log.debug("gp: edit failed on program %s: %s", primary.id, e)
                continue
            code = child.rebuild()
            after = normalise(code)
            if after is None or after == before or (donor is not None and after == normalise(donor[1].code)):
                continue
            if not self._within_limits(job, child, parent):
                continue
            return Proposal(code=code, operator=made[0], thought=made[1], parent_ids=ids)
        log.debug("gp: no distinct child of program %s after %d attempts", primary.id, self.attempts)
        return Proposal(
            code=None,
            operator="gp",
            reason=f"no valid child different from its parent after {self.attempts} attempts",
            parent_ids=[primary.id],
        )

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _donor(request: ProposalRequest, template: Template, rng: random.Random) -> tuple[Program, Parent] | None:
        others = [p for p in request.parents[1:] if normalise(p.code) != normalise(request.parents[0].code)]
        rng.shuffle(others)
        for other in others:
            try:
                return load(template, other.code), other
            except ValueError:
                log.debug("gp: donor %s changes the skeleton; skipped", other.id)
        return None

    def _mutate(self, job: _Job, child: Program) -> tuple[str, str] | None:
        blocks = [i for i, b in enumerate(child.blocks) if b.mutable]
        kinds, thoughts = [], []
        while True:
            i = job.rng.choices(blocks, [size(child.blocks[j].module) for j in blocks])[0]
            done = mutate(job.context(child, i), self.weights)
            if done is None:
                break
            kinds.append(done[0])
            thoughts.append(done[1])
            if len(kinds) >= 4 or job.rng.random() >= self.extra_mutation:
                break
        if not kinds:
            return None
        return "gp.mutate." + "+".join(kinds), "; ".join(thoughts)

    def _cross(self, job: _Job, child: Program, donor: Program) -> tuple[str, str] | None:
        pairs = [
            i
            for i, (a, b) in enumerate(zip(child.blocks, donor.blocks))
            if a.mutable and b.mutable and ast.dump(a.module) != ast.dump(b.module)
        ]
        if not pairs:
            return None
        i = job.rng.choice(pairs)
        thought = crossover(job.context(child, i), donor.blocks[i], job.rng)
        if thought is None:
            return None
        if job.rng.random() < self.crossover_mutation:
            done = mutate(job.context(child, i), self.weights)
            if done is not None:
                thought += "; then " + done[1]
        return "gp.crossover", thought

    def _within_limits(self, job: _Job, child: Program, parent: Program) -> bool:
        """Hard caps on size and depth, plus parsimony pressure: growth beyond half the cap
        is accepted less and less often, so programs drift toward the shorter."""
        for block, old, seed in zip(child.blocks, parent.blocks, job.seed.blocks):
            if block.tree is None:
                continue
            limit = self.max_nodes or (max(150, 3 * size(seed.tree)) if seed.tree is not None else 150)
            n = size(block.tree)
            if n > limit or expr_depth(block.tree) > self.max_depth:
                return False
            soft = limit / 2
            grew = old.tree is not None and n > size(old.tree)
            if grew and n > soft and job.rng.random() < (n - soft) / (limit - soft):
                return False
        return True


@dataclass
class _Job:
    """What one proposal's edits share: its random stream, the seed program, the hints."""

    rng: random.Random
    seed: Program
    hints: tuple[float, ...]

    def context(self, prog: Program, index: int) -> Context:
        seed_tree = self.seed.blocks[index].tree
        seed_size = size(seed_tree) if seed_tree is not None else None
        return Context(self.rng, prog.blocks[index], prog.np_alias, prog.globals, seed_size, self.hints)


# A number standing alone ("150", "5.37%", both ends of "20..100"), not part of a name.
_NUMBER = re.compile(r"(?<!\w)(?<!\d\.)(?<![eE][-+])\d+(?:\.\d+)?(?!\w)(?!\.\d)")


def hints(description: str, limit: int = 24) -> tuple[float, ...]:
    """Distinct numbers of a problem description other than 0 and 1 (capacities, sizes,
    counts): constants on the scale of the data, the way a reader would pick them."""
    found: dict[float, None] = {}
    for text in _NUMBER.findall(description or ""):
        value = float(text)
        if value not in (0.0, 1.0) and value < 1e6:
            found.setdefault(value, None)
    return tuple(list(found)[:limit])
