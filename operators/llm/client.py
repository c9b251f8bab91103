"""What every model backend implements (openai, anthropic, OpenAI-compatible URL, vllm, hf).

A client turns a chat (a list of {"role", "content"} messages) into one completion. It
never stores anything and never sees the sandbox; retries and backoff belong to the
official SDKs underneath.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    finish_reason: str | None = None
    """'stop', 'length' (truncated), ... as the backend reports it."""


@runtime_checkable
class LLMClient(Protocol):
    spec: str
    """The model spec it was built from, e.g. 'openai:gpt-4o-mini' or 'hf:/models/tiny'."""

    async def start(self) -> None:
        """Check the model can be used (key present, server reachable, weights load);
        raise evolve.errors.OperatorError with a one-line message otherwise."""

    async def complete(
        self, messages: list[Message], *, max_tokens: int, temperature: float, seed: int | None = None
    ) -> Completion: ...

    async def close(self) -> None: ...
