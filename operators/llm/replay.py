"""Replay: answer model calls from a recorded campaign, with no network.

The campaign loads its archived LLM call records grouped by proposal ``seq`` (in call
order) and builds the operator with ``build_operator(config, replay=records)``. Each
proposal's n-th call then gets the n-th recorded response of the same seq, so the
operator makes the same choices, parses the same text and proposes the same child.
A recorded error (an API failure, a truncated reply) is replayed as that error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from evolve.operators.llm.client import Completion


class ReplayMiss(LookupError):
    """No recorded call for this (seq, index): the replay diverged or the record is incomplete."""


class ReplayedError(RuntimeError):
    """The recorded call failed; replaying it fails the same way."""


@dataclass
class Recorded:
    model: str
    purpose: str
    response: str | None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0


def _field(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def _order(record: Any) -> int:
    for name in ("index", "call_index", "idx", "position"):
        value = _field(record, name)
        if isinstance(value, int):
            return value
    return 0


class ReplayClient:
    """Recorded responses keyed by (seq, call index)."""

    def __init__(self, records: Mapping[int, Iterable[Any]]) -> None:
        self._calls: dict[int, list[Recorded]] = {}
        for seq, calls in records.items():
            if seq is None:  # calls recorded outside any proposal (none today): nothing to replay
                continue
            ordered = sorted(list(calls), key=_order)  # stable: already-ordered lists stay as they are
            self._calls[int(seq)] = [
                Recorded(
                    model=_field(c, "model", "replay") or "replay",
                    purpose=_field(c, "purpose", "propose") or "propose",
                    response=_field(c, "response"),
                    error=_field(c, "error"),
                    input_tokens=_field(c, "input_tokens", 0) or 0,
                    output_tokens=_field(c, "output_tokens", 0) or 0,
                    cost=_field(c, "cost", 0.0) or 0.0,
                )
                for c in ordered
            ]

    def __contains__(self, seq: int) -> bool:
        return seq in self._calls

    def get(self, seq: int, index: int) -> Recorded:
        calls = self._calls.get(seq)
        if calls is None or index >= len(calls):
            raise ReplayMiss(f"replay has no recorded call {index} for proposal seq {seq}")
        return calls[index]

    def model_of(self, seq: int) -> str | None:
        """The model that answered a proposal's first call (so the replay credits the same one)."""
        calls = self._calls.get(seq)
        return calls[0].model if calls else None

    def completion(self, seq: int, index: int) -> tuple[Recorded, Completion]:
        """The recorded call and its Completion; raises ReplayedError for a recorded failure."""
        rec = self.get(seq, index)
        if rec.response is None:
            raise ReplayedError(rec.error or "the recorded call has no response")
        finish = "length" if rec.error and rec.error.startswith("truncated") else "stop"
        return rec, Completion(rec.response, rec.input_tokens, rec.output_tokens, finish)
