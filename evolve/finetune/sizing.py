"""GRPO's generation budget from the model's size and the device it trains on.

Every GRPO step generates ``num_generations`` completions of up to
``max_completion_length`` tokens per prompt, then scores each in the sandbox. On a GPU the
usual 4 x 1024 is fine; on a CPU a 0.5B model at 4 x 1024 did not finish two steps in 23
minutes. So the defaults shrink with the model and on CPUs; ``--num-generations`` and
``--max-completion-length`` override them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

GPU = {"num_generations": 4, "max_completion_length": 1024}


def model_parameters(base: Path) -> int | None:
    """Roughly how many parameters the model in ``base`` has (from its weight files,
    else from config.json), or None when neither tells."""
    weights = list(base.glob("*.safetensors")) + list(base.glob("*.bin"))
    if weights:
        config = _config(base)
        bytes_per = 4 if str(config.get("torch_dtype", "")).endswith("32") else 2
        return sum(p.stat().st_size for p in weights) // bytes_per
    config = _config(base)
    h, layers, vocab = config.get("hidden_size"), config.get("num_hidden_layers"), config.get("vocab_size")
    if not (h and layers and vocab):
        return None
    inter = config.get("intermediate_size") or 4 * h
    return int(layers * (4 * h * h + 3 * h * inter) + vocab * h)


def _config(base: Path) -> dict:
    try:
        return json.loads((base / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def grpo_defaults(base: Path, device: str) -> dict[str, int]:
    """num_generations and max_completion_length for this model on this device."""
    if device == "cuda":
        return dict(GPU)
    params = model_parameters(base) or 0
    if params < 50_000_000:  # a small model: CPU copes
        return {"num_generations": 4, "max_completion_length": 256}
    if params < 1_000_000_000:
        chosen = {"num_generations": 2, "max_completion_length": 256}
    else:
        chosen = {"num_generations": 2, "max_completion_length": 128}
    log.warning(
        "GRPO on %s with a %.1fB-parameter model is slow: %d generations x %d tokens per prompt "
        "(--num-generations/--max-completion-length to change it; a GPU is much faster)",
        device,
        params / 1e9,
        chosen["num_generations"],
        chosen["max_completion_length"],
    )
    return chosen
