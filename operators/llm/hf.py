"""``hf:<local model dir>``: generation with transformers in this process.

For small or freshly fine-tuned models (the merged output of ``evolve finetune`` loads
here directly). Weights come only from a local directory (``local_files_only``), never
from a hub. Generation is blocking torch work, so it runs in a worker thread; a lock
keeps one generation at a time on the model (and makes seeding the global RNG safe).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any, cast

from evolve.errors import OperatorError
from evolve.operators.llm.client import Completion, Message

log = logging.getLogger(__name__)

PREFIX = "hf:"


# For tokenizers without a chat template. Fine-tuning installs the same template as
# Jinja (FALLBACK_CHAT_TEMPLATE), so a model trained here sees identical text at inference.
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}### {{ message['role'] | capitalize }}:\n{{ message['content'] }}\n\n{% endfor %}"
    "{% if add_generation_prompt %}### Assistant:\n{% endif %}"
)


def fallback_prompt(messages: list[Message]) -> str:
    """``FALLBACK_CHAT_TEMPLATE`` rendered in plain Python (with the generation prompt)."""
    return "".join(f"### {m['role'].capitalize()}:\n{m['content']}\n\n" for m in messages) + "### Assistant:\n"


def pick_device(device: str | None = None) -> str:
    """The requested device, else CUDA, else Apple MPS, else CPU."""
    if device:
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class HFClient:
    """An ``LLMClient`` backed by ``AutoModelForCausalLM`` loaded from a local directory."""

    def __init__(self, spec: str, device: str | None = None):
        if not spec.startswith(PREFIX) or not spec[len(PREFIX) :].strip():
            raise OperatorError(f"bad model spec {spec!r}: write hf:<local model directory>")
        self.spec = spec
        self.path = Path(spec[len(PREFIX) :]).expanduser()
        self.requested_device = device
        self.device: str | None = None
        self.model: Any = None
        self.tokenizer: Any = None
        self._lock = threading.Lock()

    async def start(self) -> None:
        if self.model is None:
            await asyncio.to_thread(self._load)

    def _load(self) -> None:
        with self._lock:
            if self.model is not None:
                return
            if not (self.path / "config.json").is_file():
                raise OperatorError(
                    f"{self.spec}: {self.path} holds no model (no config.json); "
                    "give a directory written by save_pretrained, e.g. the merged output of `evolve finetune`"
                )
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError:
                raise OperatorError(
                    f"{self.spec}: transformers/torch are not installed; pip install 'evolve-search[finetune]'"
                ) from None
            device = pick_device(self.requested_device)
            # bfloat16 on accelerators halves memory; CPU kernels are fastest in float32.
            dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
            try:
                tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True, dtype=dtype)
            except Exception as e:  # transformers raises many types (OSError, ValueError, KeyError...)
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise OperatorError(f"{self.spec}: cannot load the model from {self.path}: {first}") from None
            # PreTrainedModel.to, typed through nn.Module (transformers' wrapper hides its signature)
            cast(torch.nn.Module, model).to(device)
            model.eval()
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            self.tokenizer, self.model, self.device = tokenizer, model, device
            log.info("loaded %s on %s (%s)", self.path, device, dtype)

    def render(self, messages: list[Message]) -> str:
        """The exact text the model sees for a chat."""
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return fallback_prompt(messages)

    async def complete(
        self, messages: list[Message], *, max_tokens: int, temperature: float, seed: int | None = None
    ) -> Completion:
        await self.start()
        return await asyncio.to_thread(self._generate, messages, max_tokens, temperature, seed)

    def _generate(self, messages: list[Message], max_tokens: int, temperature: float, seed: int | None) -> Completion:
        import torch

        with self._lock:
            text = self.render(messages)
            # The rendered template already holds any BOS/special markers.
            enc = self.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(self.device)
            n_in = int(enc["input_ids"].shape[1])
            if seed is not None:
                torch.manual_seed(seed)
            # top_p/top_k stay as the model's generation_config recommends.
            sampling: dict[str, Any] = {"do_sample": False}
            if temperature > 0:
                sampling = {"do_sample": True, "temperature": float(temperature)}
            with torch.no_grad():
                out = self.model.generate(
                    **enc,
                    max_new_tokens=max(1, int(max_tokens)),
                    pad_token_id=self.tokenizer.pad_token_id,
                    **sampling,
                )
            new = out[0, n_in:].tolist()
            eos = self.model.generation_config.eos_token_id
            eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
            eos_ids.add(self.tokenizer.eos_token_id)
            stopped = bool(new) and new[-1] in eos_ids
            # Trailing padding after EOS is not output.
            while new and new[-1] == self.tokenizer.pad_token_id and self.tokenizer.pad_token_id not in eos_ids:
                new.pop()
            completion = self.tokenizer.decode(new, skip_special_tokens=True)
            return Completion(
                text=completion,
                input_tokens=n_in,
                output_tokens=len(new),
                finish_reason="stop" if stopped or len(new) < max_tokens else "length",
            )

    async def close(self) -> None:
        # Dropping references frees the weights; nothing else is held.
        self.model = None
        self.tokenizer = None
