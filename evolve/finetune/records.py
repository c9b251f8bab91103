"""The plain views of archived programs and LLM calls that dataset builders read.

Builders never talk to SQL: they take these views, built from dicts, from
``evolve.archive.records`` dataclasses, or read straight from an ``archive.Archive`` by
``load_campaign``. Only the fields fine-tuning needs are kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evolve.constants import FAILURE_STATUSES
from evolve.errors import CampaignNotFound, EvolveError

log = logging.getLogger(__name__)

# Statuses that mean "the operator's response was bad" (rejected: the edit did not
# apply). "duplicate" is not here: a copy of a known program is not a wrong answer.
FAILED = frozenset((*FAILURE_STATUSES, "rejected"))


class FinetuneError(EvolveError):
    """Fine-tuning cannot run: too little data, bad base model, missing extras."""


class DatasetTooSmall(FinetuneError):
    """The campaign has not produced enough examples for the chosen method yet."""


@dataclass
class ProgramView:
    id: int
    code: str
    status: str
    fitness: float | None = None
    """Larger is better; None unless status is ok."""
    objective: float | None = None
    """The raw objective value, as the problem states it."""
    parent_ids: list[int] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    model: str | None = None
    operator: str = ""
    seq: int | None = None


@dataclass
class CallView:
    program_id: int | None
    prompt: list[dict[str, Any]]
    """Chat messages; a text prompt becomes one user message."""
    response: str | None
    purpose: str = "propose"
    model: str = ""
    seq: int | None = None
    id: int | None = None


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def as_messages(prompt: Any) -> list[dict[str, Any]]:
    """A recorded prompt as chat messages (text prompts are one user turn)."""
    if prompt is None:
        return []
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in prompt]


def prompt_key(messages: list[dict[str, Any]]) -> str:
    """A canonical text for "the same prompt" comparisons."""
    return json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False)


def program_view(rec: Any) -> ProgramView:
    return ProgramView(
        id=int(_get(rec, "id")),
        code=_get(rec, "code") or "",
        status=str(_get(rec, "status", "ok")),
        fitness=_get(rec, "fitness"),
        objective=_get(rec, "objective"),
        parent_ids=[int(p) for p in (_get(rec, "parent_ids") or [])],
        metrics=dict(_get(rec, "metrics") or {}),
        model=_get(rec, "model"),
        operator=_get(rec, "operator") or "",
        seq=_get(rec, "seq"),
    )


def call_view(rec: Any) -> CallView:
    return CallView(
        program_id=_get(rec, "program_id"),
        prompt=as_messages(_get(rec, "prompt")),
        response=_get(rec, "response"),
        purpose=_get(rec, "purpose") or "propose",
        model=_get(rec, "model") or "",
        seq=_get(rec, "seq"),
        id=_get(rec, "id"),
    )


@dataclass
class CampaignData:
    """Everything a dataset builder reads about one campaign."""

    programs: dict[int, ProgramView]
    calls: list[CallView]

    @classmethod
    def from_records(cls, programs: Iterable[Any], calls: Iterable[Any]) -> CampaignData:
        views = [program_view(p) for p in programs]
        return cls(programs={p.id: p for p in views}, calls=[call_view(c) for c in calls])

    def proposals(self) -> list[tuple[CallView, ProgramView]]:
        """(the call that produced it, child) for every child with a recorded propose call.

        When a child has several propose calls (retries), the last one with a response
        is the one whose text became the child.
        """
        last: dict[int, CallView] = {}
        for call in self.calls:
            if call.purpose != "propose" or call.program_id is None or call.response is None or not call.prompt:
                continue
            last[call.program_id] = call  # calls arrive in recording order
        out = [(c, self.programs[pid]) for pid, c in last.items() if pid in self.programs]
        out.sort(key=lambda cp: (cp[1].seq if cp[1].seq is not None else cp[1].id, cp[1].id))
        return out

    def parent_fitness(self, child: ProgramView) -> float | None:
        """The best fitness among a child's parents (None when none scored)."""
        parents = [self.programs[p] for p in child.parent_ids if p in self.programs]
        scores = [p.fitness for p in parents if p.fitness is not None]
        return max(scores) if scores else None


class CampaignSource(Protocol):
    """What fine-tuning reads from an archive (``evolve.archive.Archive`` is one; tests
    use a small in-memory one)."""

    def get_campaign(self, name: str) -> Any: ...
    def programs(self, campaign_id: int, *, limit: int | None = None) -> Sequence[Any]: ...
    def llm_calls(self, campaign_id: int | None = None, program_id: int | None = None) -> Sequence[Any]: ...


def load_campaign(archive: CampaignSource | str, campaign_name: str) -> CampaignData:
    """Read a campaign's programs and LLM calls from an ``Archive`` (or a storage URL)."""
    if isinstance(archive, str):
        from evolve.archive import Archive  # the SQL side stays inside archive/

        archive = Archive(archive)
    campaign = archive.get_campaign(campaign_name)
    if campaign is None:
        raise CampaignNotFound(f"no campaign named {campaign_name!r} in this archive; check the name and --db")
    cid = _get(campaign, "id")
    programs = list(_programs(archive, cid))
    calls = list(archive.llm_calls(campaign_id=cid))
    log.info("campaign %r: %d programs, %d LLM calls", campaign_name, len(programs), len(calls))
    return CampaignData.from_records(programs, calls)


def _programs(archive: CampaignSource, campaign_id: int) -> Iterable[Any]:
    return archive.programs(campaign_id, limit=None)  # every program, not a page
