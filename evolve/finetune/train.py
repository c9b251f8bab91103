"""Train the operator model with trl (SFT, DPO, GRPO) and peft LoRA.

Output under ``out_dir``: ``adapter/`` (the LoRA adapter + tokenizer), ``merged/`` (the
adapter merged into the base weights + tokenizer: what ``hf:<dir>`` and ``vllm serve``
load), and ``metrics.json``. Runs on CUDA in bfloat16 when there is a GPU, else on CPU
in float32 (only sensible for tiny models and tests).
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from evolve.finetune.data import METHODS, FinetuneDataset
from evolve.finetune.records import FinetuneError
from evolve.finetune.reward import RewardFn

if TYPE_CHECKING:  # the [finetune] extra is optional
    from torch.nn import Module as TorchModule
    from transformers import Trainer

log = logging.getLogger(__name__)


@dataclass
class FinetuneResult:
    method: str
    adapter_dir: Path | None
    """The LoRA adapter (None for a full fine-tune)."""
    merged_dir: Path
    """A complete model directory: load it with ``hf:<merged_dir>`` or serve it with vllm."""
    metrics: dict[str, float] = field(default_factory=dict)
    num_examples: int = 0
    base_model_dir: Path | None = None

    @property
    def model_spec(self) -> str:
        """The operator model spec for the fine-tuned model."""
        return f"hf:{self.merged_dir}"


def resolve_base(base: str | os.PathLike) -> Path:
    """A local model directory from a path or an ``hf:<dir>`` spec."""
    text = str(base)
    if text.startswith("hf:"):
        text = text[3:]
    path = Path(text).expanduser()
    if not (path / "config.json").is_file():
        raise FinetuneError(
            f"base model {base!s} is not a local model directory (no config.json): "
            "download the model first and give its directory to --base"
        )
    return path.resolve()


def _records(dataset: FinetuneDataset | list[dict[str, Any]] | str | os.PathLike, method: str) -> list[dict[str, Any]]:
    if isinstance(dataset, FinetuneDataset):
        rows = dataset.records
    elif isinstance(dataset, (str, os.PathLike)):
        rows = FinetuneDataset.load(dataset, method).records
    else:
        rows = list(dataset)
    # Provenance is for people, not for the trainer.
    return [{k: v for k, v in r.items() if k != "meta"} for r in rows]


def _imports():
    try:
        import torch
        import trl  # noqa: F401
        from peft import LoraConfig  # noqa: F401
        from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401
    except ImportError as e:
        raise FinetuneError(
            f"fine-tuning needs the finetune extra ({e.name} is missing): pip install 'evolve-search[finetune]'"
        ) from None
    return torch


def finetune(
    method: str,
    dataset: FinetuneDataset | list[dict[str, Any]] | str | os.PathLike,
    base_model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    lora: bool = True,
    max_steps: int | None = None,
    epochs: float = 1.0,
    lr: float | None = None,
    batch_size: int = 4,
    grad_accum: int = 1,
    lora_r: int = 16,
    lora_alpha: int = 32,
    lora_dropout: float = 0.05,
    target_modules: str | list[str] = "all-linear",
    max_length: int = 4096,
    device: str | None = None,
    gradient_checkpointing: bool | None = None,
    beta: float | None = None,
    reward_fn: RewardFn | None = None,
    num_generations: int | None = None,
    max_completion_length: int | None = None,
    temperature: float = 1.0,
    seed: int = 0,
    logging_steps: int = 1,
    merge: bool = True,
) -> FinetuneResult:
    """Fine-tune ``base_model_dir`` on ``dataset`` with ``method`` and write the result.

    ``max_steps`` (when given) overrides ``epochs``. ``lr`` defaults per method (2e-4 for
    LoRA SFT, 5e-6 for DPO/GRPO, 10x lower without LoRA). ``beta``: DPO's preference
    strength (default 0.1) or GRPO's KL weight (default 0: no reference model). GRPO
    needs ``reward_fn`` (see ``evolve.finetune.reward.make_reward_fn``); its
    ``num_generations`` and ``max_completion_length`` default from the model's size and the
    device (``evolve.finetune.sizing``).
    """
    if method not in METHODS:
        raise FinetuneError(f"unknown fine-tuning method {method!r}: choose one of {', '.join(METHODS)}")
    if method == "grpo" and reward_fn is None:
        raise FinetuneError("GRPO needs a reward function that evaluates children: pass evaluate= / reward_fn=")
    torch = _imports()
    from evolve.operators.llm.hf import FALLBACK_CHAT_TEMPLATE, pick_device

    base = resolve_base(base_model_dir)
    out = Path(out_dir).expanduser().resolve()
    rows = _records(dataset, method)
    if not rows:
        raise FinetuneError(f"the {method} dataset is empty: nothing to train on")

    device = pick_device(device)
    if method == "grpo":  # what is not given follows the model's size and the device
        from evolve.finetune.sizing import grpo_defaults

        sized = grpo_defaults(base, device)
        num_generations = num_generations or sized["num_generations"]
        max_completion_length = max_completion_length or sized["max_completion_length"]
    on_cuda = device.startswith("cuda")
    bf16 = on_cuda and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float32
    if gradient_checkpointing is None:
        gradient_checkpointing = on_cuda  # saves GPU memory; pointless on CPU
    if lr is None:
        lr = (2e-4 if method == "sft" else 5e-6) * (1.0 if lora else 0.1)

    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE  # the same text HFClient would render
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    def load_model():
        model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype=dtype)
        # PreTrainedModel.to, typed through nn.Module (transformers' wrapper hides its signature)
        return cast("TorchModule", model).to(device)

    peft_config = None
    if lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=lora_r,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            target_modules=target_modules,
            task_type="CAUSAL_LM",
        )

    common: dict[str, Any] = dict(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        learning_rate=lr,
        num_train_epochs=epochs,
        max_steps=max_steps if max_steps is not None else -1,
        logging_steps=logging_steps,
        save_strategy="no",
        report_to="none",
        seed=seed,
        bf16=bf16,
        fp16=False,
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    common[_checkpointing_arg()] = gradient_checkpointing
    train_ds = Dataset.from_list(rows)
    model = load_model()
    t0 = time.perf_counter()
    trainer: Trainer
    if method == "sft":
        from trl import SFTConfig, SFTTrainer

        sft_args = SFTConfig(**common, max_length=max_length, packing=False, completion_only_loss=True)
        trainer = SFTTrainer(
            model=model, args=sft_args, train_dataset=train_ds, processing_class=tokenizer, peft_config=peft_config
        )
    elif method == "dpo":
        from trl import DPOConfig, DPOTrainer

        ref = load_model().eval()  # explicit frozen reference (works with and without LoRA)
        dpo_args = DPOConfig(**common, max_length=max_length, beta=0.1 if beta is None else beta)
        trainer = DPOTrainer(
            model=model,
            ref_model=ref,
            args=dpo_args,
            train_dataset=train_ds,
            processing_class=tokenizer,
            peft_config=peft_config,
        )
    else:
        from trl import GRPOConfig, GRPOTrainer

        assert num_generations is not None and max_completion_length is not None  # sized on entry
        # trl splits each generation batch into groups of num_generations completions.
        gen_batch = math.ceil(batch_size * grad_accum / num_generations) * num_generations
        common["per_device_train_batch_size"] = gen_batch // grad_accum if gen_batch % grad_accum == 0 else gen_batch
        common["gradient_accumulation_steps"] = grad_accum if gen_batch % grad_accum == 0 else 1
        assert reward_fn is not None  # checked on entry
        grpo_args = GRPOConfig(
            **common,
            num_generations=num_generations,
            max_completion_length=max_completion_length,
            temperature=temperature,
            beta=0.0 if beta is None else beta,
            use_vllm=False,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[reward_fn],
            args=grpo_args,
            train_dataset=train_ds,
            processing_class=tokenizer,
            peft_config=peft_config,
        )
    _log_through_logging(trainer)
    log.info("%s: training %s on %d examples (%s, lora=%s)", method, base.name, len(rows), device, lora)
    output = trainer.train()
    elapsed = time.perf_counter() - t0
    metrics = _metrics(output.metrics, trainer.state.log_history, elapsed, trainer.state.global_step)

    adapter_dir, merged_dir = _save(trainer.model, tokenizer, out, lora=lora, merge=merge)
    info = {"method": method, "base": str(base), "examples": len(rows), "lora": lora, "metrics": metrics}
    (out / "metrics.json").write_text(json.dumps(info, indent=2))
    (merged_dir / "evolve_finetune.json").write_text(json.dumps(info, indent=2))
    del trainer, model
    gc.collect()
    if on_cuda:
        torch.cuda.empty_cache()
    log.info("%s done in %.1fs: %s", method, elapsed, merged_dir)
    return FinetuneResult(method, adapter_dir, merged_dir, metrics, len(rows), base)


def _checkpointing_arg() -> str:
    """transformers 5 renamed gradient_checkpointing (the old name warns)."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def _log_through_logging(trainer: Any) -> None:
    """Send the trainer's per-step logs to ``logging`` instead of stdout."""
    from transformers import PrinterCallback, TrainerCallback

    class LogCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs:
                log.info("step %d: %s", state.global_step, {k: v for k, v in logs.items() if k != "total_flos"})

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(LogCallback())


def _save(model: Any, tokenizer: Any, out: Path, *, lora: bool, merge: bool) -> tuple[Path | None, Path]:
    merged_dir = out / "merged"
    if not lora:
        model.save_pretrained(merged_dir)
        tokenizer.save_pretrained(merged_dir)
        return None, merged_dir
    adapter_dir = out / "adapter"
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    if merge:
        merged = model.merge_and_unload()
        merged.save_pretrained(merged_dir)
        tokenizer.save_pretrained(merged_dir)
    return adapter_dir, merged_dir


def _metrics(train: dict[str, Any], history: list[dict[str, Any]], elapsed: float, steps: int) -> dict[str, float]:
    """Train summary plus the last logged value of every per-step figure (loss, rewards...)."""
    out: dict[str, float] = {}
    for entry in history:
        for k, v in entry.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                out[k] = float(v)
    for k, v in train.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(v)
    out["steps"] = float(steps)
    out["seconds"] = round(elapsed, 3)
    out["seconds_per_step"] = round(elapsed / steps, 3) if steps else 0.0
    return out
