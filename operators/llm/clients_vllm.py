"""vLLM's in-process async engine for a local model directory (extra ``[vllm]``, needs a GPU).

The engine batches every concurrent ``complete()`` itself (continuous batching), so the
campaign's many in-flight proposals share one GPU efficiently. For a separate
``vllm serve`` process use the OpenAI-compatible spec instead.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from evolve.errors import OperatorError
from evolve.operators.llm.client import Completion, Message

log = logging.getLogger(__name__)


class VLLMClient:
    def __init__(self, spec: str, model_dir: str, **engine_args: Any) -> None:
        self.spec = spec
        self.model_dir = model_dir
        self.engine_args = engine_args
        """Passed to vllm.AsyncEngineArgs (gpu_memory_utilization, max_model_len, ...)."""
        self._engine: Any = None  # vllm.AsyncLLMEngine once started (vllm is optional)
        self._tokenizer: Any = None

    async def start(self) -> None:
        if self._engine is not None:
            return
        try:
            import vllm
        except ImportError:
            raise OperatorError(
                f"{self.spec}: vLLM is not installed: pip install 'evolve-search[vllm]' (needs a GPU)"
            ) from None
        if not Path(self.model_dir).exists():
            raise OperatorError(f"{self.spec}: no model directory {self.model_dir}: give a local path with weights")
        try:
            args = vllm.AsyncEngineArgs(model=self.model_dir, **self.engine_args)
            self._engine = vllm.AsyncLLMEngine.from_engine_args(args)
            self._tokenizer = await self._engine.get_tokenizer()
        except Exception as e:  # CUDA missing, bad weights, out of memory: all fatal at start
            raise OperatorError(f"{self.spec}: vLLM could not load {self.model_dir}: {type(e).__name__}: {e}") from None
        log.info("%s: vLLM engine loaded", self.spec)

    async def complete(
        self, messages: list[Message], *, max_tokens: int, temperature: float, seed: int | None = None
    ) -> Completion:
        if self._engine is None:
            raise RuntimeError(f"{self.spec}: call start() before complete()")
        import vllm

        prompt = self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        params = vllm.SamplingParams(max_tokens=max_tokens, temperature=temperature, seed=seed)
        final = None
        async for out in self._engine.generate(prompt, params, request_id=uuid.uuid4().hex):
            final = out
        if final is None or not final.outputs:
            raise ValueError("vLLM returned no output")
        choice = final.outputs[0]
        return Completion(
            text=choice.text,
            input_tokens=len(final.prompt_token_ids or []),
            output_tokens=len(choice.token_ids or []),
            finish_reason=choice.finish_reason,
        )

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None and hasattr(engine, "shutdown"):
            engine.shutdown()
