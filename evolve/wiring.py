"""Build the parts a campaign needs from its configuration (sandbox, operator)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from evolve.config import Config
from evolve.errors import ConfigError, EvolveError

log = logging.getLogger(__name__)


def storage_paths(url: str) -> list[str]:
    """Local paths a candidate must never see: the SQLite file's directory, however the
    storage was written (``runs.db``, ``/data/runs.db``, ``sqlite:///...``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from evolve.archive.db import normalize_url

    try:
        parsed = make_url(normalize_url(url))
    except (ArgumentError, EvolveError):
        return []
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file::memory:"):
        return []
    database = database.removeprefix("file:").split("?")[0]
    return [str(Path(database).expanduser().resolve().parent)]


def make_sandbox(config: Config):
    hide = sorted(set(storage_paths(config.storage) + [os.getcwd()]))
    if config.executor == "ray":
        from evolve.sandbox.ray_executor import RaySandbox

        backend = "process" if config.sandbox == "auto" else config.sandbox
        options: dict = {"hide": hide}
        if backend == "process":
            options.update(isolation=config.isolation, unsafe_no_isolation=config.unsafe_no_isolation)
        return RaySandbox(config.ray_address, backend=backend, **options)
    from evolve.sandbox.select import make_sandbox as select

    return select(
        config.sandbox,
        hide=hide,
        isolation=config.isolation,
        unsafe_no_isolation=config.unsafe_no_isolation,
        image=config.docker_image,
        pool_size=config.workers,
    )


def make_operator(config: Config, replay: dict | None = None):
    if config.operator_kind == "gp":
        from evolve.operators.gp import GPOperator

        return GPOperator()
    if config.llm is None:
        raise ConfigError("the llm operator needs an [llm] section with at least one model (or --model)")
    from evolve.operators.llm import build_operator

    return build_operator(config.llm, replay=replay)
