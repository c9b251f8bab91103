"""Build the parts a campaign needs from its configuration (sandbox, operator)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from evolve.archive.selection import SelectionPolicy, make_policy
from evolve.config import Config
from evolve.errors import ConfigError
from evolve.operators.base import Operator
from evolve.operators.registry import make_operator as registered_operator
from evolve.sandbox.base import Sandbox
from evolve.sandbox.select import make_sandbox as select_sandbox

log = logging.getLogger(__name__)


def storage_paths(url: str) -> list[str]:
    """Local paths a candidate must never see: the SQLite file's directory, however the
    storage was written (``runs.db``, ``/data/runs.db``, ``sqlite:///...``)."""
    from evolve.archive.db import sqlite_directory

    directory = sqlite_directory(url)
    return [] if directory is None else [str(directory)]


def make_sandbox(config: Config) -> Sandbox:
    """The campaign's sandbox: a registered backend (or ``auto``'s choice), here or on Ray."""
    hide = sorted(set(storage_paths(config.storage) + [os.getcwd()]))
    if config.executor == "ray":
        from evolve.sandbox.ray_executor import RaySandbox

        backend = "process" if config.sandbox == "auto" else config.sandbox
        options: dict[str, Any] = {"hide": hide}
        if backend == "process":
            options.update(isolation=config.isolation, unsafe_no_isolation=config.unsafe_no_isolation)
        return RaySandbox(config.ray_address, backend=backend, **options, **config.sandbox_options)
    return select_sandbox(
        config.sandbox,
        hide=hide,
        isolation=config.isolation,
        unsafe_no_isolation=config.unsafe_no_isolation,
        image=config.docker_image,
        pool_size=config.workers,
        **config.sandbox_options,
    )


def make_selection(config: Config) -> SelectionPolicy:
    """The campaign's parent selection policy, built from the registry by name."""
    return make_policy(config.selection, config.policy_options())


def make_operator(config: Config, replay: Mapping[int, Iterable[Any]] | None = None) -> Operator:
    """The campaign's operator, built from the registry by name. ``replay`` (recorded LLM
    calls by proposal) makes the llm operator answer from records instead of models."""
    if replay is not None:
        if config.operator_kind != "llm" or config.llm is None:
            raise ConfigError("only an llm operator can replay recorded model calls")
        from evolve.operators.llm import build_operator

        return build_operator(config.llm, replay=replay)
    return registered_operator(config.operator_kind, config.operator_settings())
