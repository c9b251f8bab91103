"""``NewProgram``: one program to store, as a frozen record.

``Archive.add_program(campaign_id, NewProgram(...))`` (or ``CampaignStore.add_program``)
takes one of these instead of two dozen keyword arguments, so a type checker and a reader
can follow a candidate from the loop into the archive. It is validated when built: a
bad status or an ok program without a fitness fails at the call site, not in SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from evolve.archive.dedup import code_hash
from evolve.archive.models import utcnow
from evolve.archive.records import ProgramRecord, clean_json, restore_floats
from evolve.constants import STATUSES, ProgramStatus


class CallRecord(Protocol):
    """One model call as the archive stores it (``evolve.operators.base.LLMCall`` is one)."""

    @property
    def model(self) -> str: ...
    @property
    def prompt(self) -> str | list[dict[str, Any]]: ...
    @property
    def response(self) -> str | None: ...
    @property
    def purpose(self) -> str: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cost(self) -> float: ...
    @property
    def latency(self) -> float: ...
    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True, kw_only=True)
class NewProgram:
    """A program to store. Only ``code``, ``island`` and ``status`` are required."""

    code: str
    """The full program; "" for a rejected proposal (the operator produced no code)."""
    island: int
    status: ProgramStatus
    seq: int | None = None
    """The proposal's sequence number (unique per campaign); None for seeds and copies."""
    born_at: int = 0
    """The visibility point parent sampling's ``max_born_at`` compares against."""
    generation: int = 0
    parent_ids: Sequence[int] = ()
    operator: str = ""
    model: str | None = None
    reason: str | None = None
    """Why it failed or was rejected."""
    metrics: Mapping[str, float] = field(default_factory=dict)
    objective: float | None = None
    fitness: float | None = None
    """The objective oriented so that larger is better (required when status is ok)."""
    descriptor: Mapping[str, Any] | None = None
    feedback: str | None = None
    thought: str | None = None
    stdout: str | None = None
    eval_time: float | None = None
    proposal_time: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    """Token and cost totals; left at zero they are summed from ``llm_calls``."""
    duplicate_of: int | None = None
    llm_calls: Sequence[CallRecord] = ()
    """The model calls that produced this program, stored with it in one transaction."""
    code_hash: str | None = None
    """``evolve.archive.code_hash(code)`` when the caller already has it (trusted)."""
    publish: bool = True
    """False: stored durably but kept out of parent sampling (no sampling position,
    parents' child counts unchanged) until ``Archive.publish``. The campaign loop
    publishes in proposal order, so what a proposal samples never depends on which
    evaluation finished first."""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.status == "ok" and self.fitness is None:
            raise ValueError("a program with status 'ok' needs a fitness (its objective oriented so larger is better)")
        # Freeze the sequences too: a record shared between threads must not change.
        object.__setattr__(self, "parent_ids", tuple(int(p) for p in self.parent_ids))
        object.__setattr__(self, "llm_calls", tuple(self.llm_calls))

    def with_changes(self, **changes: Any) -> NewProgram:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)


def record_of(values: dict[str, Any], program_id: int) -> ProgramRecord:
    """The record of a row just inserted (no read back)."""
    out = {k: v for k, v in values.items() if k != "ok_pos"}
    out["id"] = program_id
    out["metrics"] = restore_floats(values["metrics"])
    return ProgramRecord(**out)


def row_values(campaign_id: int, p: NewProgram) -> dict[str, Any]:
    """The ``programs`` row for ``p`` (no id, no sampling position yet). Token and cost
    totals left at zero are summed from its LLM calls."""
    input_tokens, output_tokens, cost = p.input_tokens, p.output_tokens, p.cost
    if p.llm_calls and not (input_tokens or output_tokens or cost):
        input_tokens = sum(int(c.input_tokens or 0) for c in p.llm_calls)
        output_tokens = sum(int(c.output_tokens or 0) for c in p.llm_calls)
        cost = float(sum(float(c.cost or 0.0) for c in p.llm_calls))
    return dict(
        campaign_id=campaign_id,
        seq=p.seq,
        born_at=int(p.born_at or 0),
        island=int(p.island),
        generation=int(p.generation),
        code=p.code,
        code_hash=p.code_hash or code_hash(p.code),
        parent_ids=list(p.parent_ids),
        operator=p.operator or "",
        model=p.model,
        status=p.status,
        reason=p.reason,
        metrics=clean_json(dict(p.metrics)),
        objective=None if p.objective is None else float(p.objective),
        fitness=None if p.fitness is None else float(p.fitness),
        descriptor=None if p.descriptor is None else clean_json(dict(p.descriptor)),
        feedback=p.feedback,
        thought=p.thought,
        stdout=p.stdout,
        eval_time=p.eval_time,
        proposal_time=p.proposal_time,
        input_tokens=int(input_tokens),
        output_tokens=int(output_tokens),
        cost=float(cost),
        duplicate_of=p.duplicate_of,
        n_children=0,
        ok_pos=None,
        created_at=utcnow(),
    )
