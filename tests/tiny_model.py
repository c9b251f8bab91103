"""A tiny random Qwen2-style causal LM with a locally trained tokenizer, for tests.

Nothing here touches a model hub: the byte-level BPE tokenizer is trained on a few
hundred lines of Python from the standard library, the model has random weights, and
both are written with ``save_pretrained`` so ``AutoModelForCausalLM.from_pretrained(dir,
local_files_only=True)`` (and therefore ``HFClient('hf:<dir>')`` and the fine-tuning
code) loads them like any real checkpoint. Building takes about a second.
"""

from __future__ import annotations

import functools
import inspect
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Qwen-style chat template: the markers are real special tokens, so the model can learn
# to stop after ``<|im_end|>``.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _corpus() -> list[str]:
    """A few hundred lines of real Python code (stdlib sources ship with every Python)."""
    import bisect
    import heapq
    import textwrap

    lines: list[str] = []
    for module in (heapq, bisect, textwrap):
        lines.extend(inspect.getsource(module).splitlines())
    # Words the prompts and scorers use, so they do not fall apart into single bytes.
    lines += ["def priority(item, bins):", "Target: score = 0.5", "```python", "```", "SEARCH", "REPLACE"] * 5
    return [line for line in lines if line.strip()]


def build_tokenizer(vocab_size: int = 512):
    """A byte-level BPE tokenizer (any text encodes) wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(out_dir: str | os.PathLike, *, seed: int = 0, chat_template: bool = True) -> Path:
    """Write a tokenizer + random 2-layer Qwen2 model to ``out_dir`` and return the path.

    Deterministic for a given seed. ``chat_template=False`` leaves the template out (to
    exercise clients' fallback prompt format).
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    if (out / "config.json").exists() and (out / "tokenizer.json").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    if not chat_template:
        tokenizer.chat_template = None
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@functools.cache
def cached_tiny_model(chat_template: bool = True) -> Path:
    """One tiny model per test process (build once, reuse everywhere)."""
    root = Path(tempfile.mkdtemp(prefix="evolve-tiny-model-"))
    return build_tiny_model(root / "model", chat_template=chat_template)
