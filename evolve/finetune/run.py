"""Entry points the CLI and the campaign loop call.

``run_finetune``: campaign in the archive -> dataset -> trained model -> result whose
``model_spec`` (``hf:<merged dir>``) an LLM operator can switch to. ``FinetuneSchedule``
does that every N proposals inside a running campaign (SOAR's search / learn rounds).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evolve.finetune.data import DEFAULT_MIN_EXAMPLES, METHODS, build_dataset
from evolve.finetune.records import CampaignData, CampaignSource, DatasetTooSmall, FinetuneError, load_campaign
from evolve.finetune.reward import Evaluate, make_reward_fn
from evolve.finetune.train import FinetuneResult, finetune, resolve_base

log = logging.getLogger(__name__)

# Options that shape the dataset (the rest go to ``finetune``).
DATASET_OPTS = {
    "sft": ("improving_only", "max_examples", "top_fraction", "dedup_threshold", "objective_name", "hindsight"),
    "dpo": ("max_pairs_per_prompt", "min_margin"),
    "grpo": ("max_prompts",),
}
REWARD_OPTS = ("to_code", "fail_reward", "identical_reward", "scale", "clip", "max_workers")


def run_finetune(
    archive: CampaignSource | str,
    campaign_name: str,
    method: str,
    base: str | os.PathLike,
    out: str | os.PathLike,
    *,
    dump_dataset: str | os.PathLike | None = None,
    evaluate: Evaluate | None = None,
    min_examples: int = DEFAULT_MIN_EXAMPLES,
    data: CampaignData | None = None,
    **train_opts: Any,
) -> FinetuneResult | None:
    """Build the ``method`` dataset from a campaign and fine-tune ``base`` on it into ``out``.

    ``archive``: an ``archive.Archive`` or its URL. ``evaluate(code) -> (status, fitness)``
    is required for GRPO (see ``reward.sandbox_evaluator``). With ``dump_dataset`` the
    JSONL is written first; ``train_opts`` may include dataset options (e.g.
    ``max_examples``), reward options (e.g. ``fail_reward``) and any ``finetune`` keyword.
    Raises DatasetTooSmall (a FinetuneError) when the dataset has fewer than ``min_examples`` records. With
    ``train_opts['dry_run']`` true, stops after writing the dataset and returns None.
    """
    if method not in METHODS:
        raise FinetuneError(f"unknown fine-tuning method {method!r}: choose one of {', '.join(METHODS)}")
    dry_run = bool(train_opts.pop("dry_run", False))
    base_dir = resolve_base(base) if not dry_run else base
    if method == "grpo" and evaluate is None and "reward_fn" not in train_opts and not dry_run:
        raise FinetuneError("GRPO scores generated children: the caller must pass evaluate=(code -> (status, fitness))")
    dataset_opts = {k: train_opts.pop(k) for k in DATASET_OPTS[method] if k in train_opts}
    reward_opts = {k: train_opts.pop(k) for k in REWARD_OPTS if k in train_opts}

    if data is None:
        data = load_campaign(archive, campaign_name)
    dataset = build_dataset(method, data, **dataset_opts)
    if dump_dataset is not None:
        dataset.dump(dump_dataset)
    dataset.require(min_examples)
    if dry_run:
        return None
    if method == "grpo" and "reward_fn" not in train_opts:
        assert evaluate is not None  # checked on entry
        train_opts["reward_fn"] = make_reward_fn(evaluate, **reward_opts)
    return finetune(method, dataset, base_dir, out, **train_opts)


def model_spec(result: FinetuneResult | str | os.PathLike) -> str:
    """The ``hf:`` spec that loads a fine-tuned model (a result or a merged directory)."""
    if isinstance(result, FinetuneResult):
        return result.model_spec
    return f"hf:{Path(result).expanduser().resolve()}"


@dataclass
class FinetuneSchedule:
    """Fine-tune every ``every`` proposals during a campaign and hand back the new model.

    Each round trains from ``base`` (not from the previous round's model, as SOAR does:
    the dataset already holds everything found so far) into ``out_root/round-K``. The
    campaign calls ``maybe_run`` after each proposal (in a worker thread: training
    blocks) and, when it returns a spec, switches its LLM operator to it, so every
    later child records that model in its ``model`` field.
    """

    base: str
    out_root: Path
    every: int
    method: str = "sft"
    evaluate: Evaluate | None = None
    min_examples: int = DEFAULT_MIN_EXAMPLES
    train_opts: dict[str, Any] = field(default_factory=dict)
    last_at: int = 0
    rounds: int = 0
    current_spec: str | None = None

    def __post_init__(self) -> None:
        if self.every <= 0:
            raise FinetuneError(f"--finetune-every must be a positive number of proposals, not {self.every}")
        if self.method not in METHODS:
            raise FinetuneError(f"unknown fine-tuning method {self.method!r}: choose one of {', '.join(METHODS)}")
        self.out_root = Path(self.out_root)

    def due(self, proposals_done: int) -> bool:
        return proposals_done - self.last_at >= self.every

    def maybe_run(self, archive: CampaignSource | str, campaign_name: str, proposals_done: int) -> str | None:
        """Run a round when due; the new ``hf:`` spec, or None (not due / too little data yet)."""
        if not self.due(proposals_done):
            return None
        self.last_at = proposals_done
        out = self.out_root / f"round-{self.rounds + 1}"
        try:
            result = run_finetune(
                archive,
                campaign_name,
                self.method,
                self.base,
                out,
                evaluate=self.evaluate,
                min_examples=self.min_examples,
                dump_dataset=out / "dataset.jsonl",
                **dict(self.train_opts),
            )
        except DatasetTooSmall as e:
            # At the default log level: the user asked for these rounds and should know.
            log.warning("fine-tuning round skipped at %d proposals: %s", proposals_done, e)
            return None
        if result is None:  # a dry run: nothing was trained
            return None
        self.rounds += 1
        self.current_spec = result.model_spec
        log.info("fine-tuning round %d done: operator model is now %s", self.rounds, self.current_spec)
        return self.current_spec
