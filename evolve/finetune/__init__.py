"""Fine-tune the operator model on what a campaign discovered (SOAR SFT, EvoTune DPO,
ThetaEvolve/CALM GRPO). Importing this package is light; torch/trl load on first training.
"""

from evolve.finetune.data import (
    DEFAULT_MIN_EXAMPLES,
    METHODS,
    FinetuneDataset,
    build_dataset,
    build_dpo,
    build_grpo,
    build_sft,
)
from evolve.finetune.hindsight import TARGET_LINE, relabel, target_line
from evolve.finetune.records import CampaignData, DatasetTooSmall, FinetuneError, load_campaign
from evolve.finetune.reward import extract_code, make_reward_fn, sandbox_evaluator
from evolve.finetune.run import FinetuneSchedule, model_spec, run_finetune
from evolve.finetune.train import FinetuneResult, finetune

__all__ = [
    "CampaignData",
    "DEFAULT_MIN_EXAMPLES",
    "DatasetTooSmall",
    "FinetuneDataset",
    "FinetuneError",
    "FinetuneResult",
    "FinetuneSchedule",
    "METHODS",
    "TARGET_LINE",
    "build_dataset",
    "build_dpo",
    "build_grpo",
    "build_sft",
    "extract_code",
    "finetune",
    "load_campaign",
    "make_reward_fn",
    "model_spec",
    "relabel",
    "run_finetune",
    "sandbox_evaluator",
    "target_line",
]
