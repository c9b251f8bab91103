"""Plain read models handed to callers (no ORM objects or sessions ever leave the
archive), and the JSON cleaning that keeps NaN/inf storable on every backend."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

# PostgreSQL's JSONB has no NaN or infinity; metrics may hold them (not the objective).
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def clean_json(value: Any) -> Any:
    """A copy of ``value`` that every backend's JSON accepts: non-finite floats become
    the strings ``NaN``/``Infinity``/``-Infinity``, tuples become lists, keys strings."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return clean_json(value.item())
    return value


def restore_floats(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """Undo ``clean_json`` for a flat dict of numbers (metrics)."""
    if not metrics:
        return {}
    return {k: _NONFINITE.get(v, v) if isinstance(v, str) else v for k, v in metrics.items()}


@dataclass
class CampaignInfo:
    id: int
    name: str
    problem: str
    config: dict[str, Any]
    status: str
    state: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass
class ProgramRecord:
    id: int
    campaign_id: int
    seq: int | None
    born_at: int
    island: int
    generation: int
    code: str
    code_hash: str
    parent_ids: list[int]
    operator: str
    model: str | None
    status: str
    reason: str | None
    metrics: dict[str, float]
    objective: float | None
    fitness: float | None
    descriptor: dict[str, Any] | None
    feedback: str | None
    thought: str | None
    stdout: str | None
    eval_time: float | None
    proposal_time: float | None
    input_tokens: int
    output_tokens: int
    cost: float
    duplicate_of: int | None
    n_children: int
    created_at: datetime


@dataclass
class LLMCallRecord:
    id: int
    campaign_id: int
    program_id: int | None
    seq: int | None
    model: str
    purpose: str
    prompt: str | list[dict[str, Any]] | None
    response: str | None
    input_tokens: int
    output_tokens: int
    cost: float
    latency: float
    error: str | None
    created_at: datetime


@dataclass
class EventRecord:
    id: int
    campaign_id: int
    kind: str
    data: dict[str, Any]
    created_at: datetime


@dataclass
class IslandLease:
    campaign_id: int
    island: int
    owner: str | None
    expires: float | None
    heartbeat_at: float | None
    state: dict[str, Any] = field(default_factory=dict)


def _names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


PROGRAM_FIELDS = _names(ProgramRecord)
CAMPAIGN_FIELDS = _names(CampaignInfo)
LLM_CALL_FIELDS = _names(LLMCallRecord)
EVENT_FIELDS = _names(EventRecord)


def program_from_row(row: Any) -> ProgramRecord:
    m = row._mapping
    values = {name: m[name] for name in PROGRAM_FIELDS}
    values["parent_ids"] = list(values["parent_ids"] or [])
    values["metrics"] = restore_floats(values["metrics"])
    return ProgramRecord(**values)


def campaign_from_row(row: Any) -> CampaignInfo:
    m = row._mapping
    values = {name: m[name] for name in CAMPAIGN_FIELDS}
    values["config"] = dict(values["config"] or {})
    values["state"] = dict(values["state"] or {})
    return CampaignInfo(**values)


def llm_call_from_row(row: Any) -> LLMCallRecord:
    m = row._mapping
    return LLMCallRecord(**{name: m[name] for name in LLM_CALL_FIELDS})


def event_from_row(row: Any) -> EventRecord:
    m = row._mapping
    return EventRecord(**{name: m[name] for name in EVENT_FIELDS})
