"""Build the parts a campaign needs from its configuration (sandbox, operator)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from evolve.config import Config
from evolve.errors import ConfigError

log = logging.getLogger(__name__)


def storage_paths(url: str) -> list[str]:
    """Local paths a candidate must never see: the SQLite file's directory."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            return [str(Path(path).resolve().parent)]
    return []


def make_sandbox(config: Config):
    hide = sorted(set(storage_paths(config.storage) + [os.getcwd()]))
    if config.executor == "ray":
        from evolve.sandbox.ray_executor import RaySandbox

        backend = "process" if config.sandbox == "auto" else config.sandbox
        options = {"hide": hide, "isolation": config.isolation} if backend == "process" else {"hide": hide}
        return RaySandbox(config.ray_address, backend=backend, **options)
    from evolve.sandbox.select import make_sandbox as select

    return select(
        config.sandbox, hide=hide, isolation=config.isolation, image=config.docker_image, pool_size=config.workers
    )


def make_operator(config: Config, replay: dict | None = None):
    if config.operator_kind == "gp":
        from evolve.operators.gp import GPOperator

        return GPOperator()
    if config.llm is None:
        raise ConfigError("the llm operator needs an [llm] section with at least one model (or --model)")
    from evolve.operators.llm import build_operator

    return build_operator(config.llm, replay=replay)
