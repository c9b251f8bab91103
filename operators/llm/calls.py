"""Making one proposal's model calls and recording each as an LLMCall.

A ``CallSession`` belongs to one proposal: it numbers the calls (the replay key is
(seq, call index)), limits how many calls are in flight across the whole operator,
prices tokens, and turns every failure into ``CallFailed`` with a reason for the
rejected proposal. Only the live path touches the network; the replay path reads the
recorded responses instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from evolve.operators.base import LLMCall
from evolve.operators.llm.client import Completion, LLMClient, Message
from evolve.operators.llm.config import ModelSpec
from evolve.operators.llm.replay import ReplayClient, ReplayedError, ReplayMiss

log = logging.getLogger(__name__)
TRUNCATED = "truncated"


class CallFailed(Exception):
    """A model call gave no usable text; the message is the proposal's rejection reason."""


class CallSession:
    def __init__(
        self,
        *,
        seq: int,
        seed: int,
        name: str,
        model: ModelSpec,
        client: LLMClient | None,
        replay: ReplayClient | None,
        semaphore,
        charge: Callable[[float], None],
    ) -> None:
        self.seq = seq
        self.seed = seed
        self.name = name
        self.model = model
        self.client = client
        self.replay = replay
        self.semaphore = semaphore
        self.charge = charge
        self.calls: list[LLMCall] = []

    async def ask(self, messages: list[Message], purpose: str = "propose") -> Completion:
        """The model's reply; CallFailed (after recording the call) when there is none."""
        index = len(self.calls)
        if self.replay is not None:
            return self._replayed(messages, purpose, index)
        call = LLMCall(model=self.name, prompt=messages, response=None, purpose=purpose)
        self.calls.append(call)
        assert self.client is not None
        async with self.semaphore:
            started = time.perf_counter()
            try:
                done = await self.client.complete(
                    messages,
                    max_tokens=self.model.max_tokens,
                    temperature=self.model.temperature,
                    seed=(self.seed + index) % 2**31,
                )
            except Exception as e:  # API errors after the SDK's retries, timeouts, malformed bodies
                call.latency = time.perf_counter() - started
                call.error = f"{type(e).__name__}: {_one_line(e)}"
                log.warning("%s call for seq %d failed: %s", self.name, self.seq, call.error)
                raise CallFailed(f"{self.name} call failed: {call.error}") from None
            call.latency = time.perf_counter() - started
        call.response = done.text
        call.input_tokens, call.output_tokens = done.input_tokens, done.output_tokens
        call.cost = self.model.cost(done.input_tokens, done.output_tokens)
        self.charge(call.cost)
        if done.finish_reason == "length":
            call.error = f"{TRUNCATED}: the reply hit max_tokens={self.model.max_tokens}"
        return done

    def _replayed(self, messages: list[Message], purpose: str, index: int) -> Completion:
        replay = self.replay
        assert replay is not None  # complete() only comes here with a replay
        try:
            rec = replay.get(self.seq, index)
        except ReplayMiss as e:
            self.calls.append(LLMCall(model=self.name, prompt=messages, response=None, purpose=purpose, error=str(e)))
            raise CallFailed(str(e)) from None
        call = LLMCall(
            model=rec.model,
            prompt=messages,
            response=rec.response,
            purpose=purpose,
            input_tokens=rec.input_tokens,
            output_tokens=rec.output_tokens,
            cost=rec.cost,
            error=rec.error,
        )
        self.calls.append(call)
        self.charge(rec.cost)
        try:
            _, done = replay.completion(self.seq, index)
        except ReplayedError as e:
            raise CallFailed(f"{rec.model} call failed: {e}") from None
        return done


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:300] or type(e).__name__
