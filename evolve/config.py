"""The campaign configuration: one validated model, from a TOML/YAML file and CLI flags.

It is stored with the campaign, so a resumed campaign runs with the settings it started
with; only the budget (and how many evaluations run at once) may change on resume.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evolve.archive.policies.grid_config import GridConfig
from evolve.archive.selection import SELECTION_POLICIES, check_options
from evolve.constants import DEFAULT_STORAGE
from evolve.errors import ConfigError
from evolve.operators.llm.config import LLMConfig  # the LLM operator's settings live with it
from evolve.operators.registry import OPERATORS
from evolve.sandbox.select import choices as sandbox_choices

# Settings a resumed campaign may change; everything else must match the stored config.
RESUMABLE_CHANGES = {
    "budget",
    "max_proposals",
    "workers",
    "storage",
    "sandbox",
    "isolation",
    "unsafe_no_isolation",
    "executor",
    "ray_address",
    "progress",
}


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    problem: str = Field("bin_packing", description="built-in name, directory with problem.py, or a .py file")
    case_set: str | None = Field(None, description="named case set of the problem (default: its main one)")
    name: str | None = Field(None, description="campaign name (default: the problem's name)")
    storage: str = Field(DEFAULT_STORAGE, description="SQLAlchemy URL of the archive")

    budget: int = Field(200, ge=0, description="child evaluations to run (the seed is not counted)")
    max_proposals: int | None = Field(None, ge=0, description="stop after this many proposals in all, evaluated or not")
    seed: int = Field(0, description="random seed: same seed, operator and budget give the same result")
    workers: int = Field(2, ge=1, le=256, description="evaluations running in parallel")
    time_limit: float | None = Field(None, gt=0, description="seconds per case (default: the problem's)")
    memory_mb: int | None = Field(None, ge=64, description="memory per candidate (default: the problem's)")

    islands: int = Field(4, ge=1, le=1024)
    generation_size: int = Field(8, ge=1, description="proposals per island that make one generation")
    migration_interval: int = Field(4, ge=0, description="generations between ring migrations (0: never)")
    migration_size: int = Field(1, ge=1, description="best programs each island sends to the next")
    reset_interval: int = Field(
        0, ge=0, description="generations between FunSearch resets of the weaker half (0: never)"
    )

    selection: str = Field(
        "tournament", description=f"parent selection policy, by name: {SELECTION_POLICIES.choices(' | ')}"
    )
    selection_options: dict[str, Any] = Field(
        default_factory=dict, description="settings of the selection policy (checked against its Options)"
    )
    map_elites: GridConfig = Field(default_factory=GridConfig, description="the grid when selection is map_elites")
    near_duplicate_threshold: float | None = Field(
        None,
        gt=0,
        le=1,
        description="reject children whose code embedding is this similar to an archived one (needs [embeddings]); "
        "off by default: similar code often behaves differently (benchmarks/near_duplicates.py), 0.999 if you must",
    )
    embedding_model: str | None = Field(None, description="sentence-transformers model for near-duplicates")
    tournament_size: int = Field(4, ge=1, description="contestants per tournament (selection_options.size)")
    crossover_rate: float = Field(0.2, ge=0, le=1)
    parsimony: float = Field(
        1e-9,
        ge=0,
        description="fitness cost per character of code: breaks ties between "
        "equal scores in favour of shorter programs (bloat control)",
    )
    inspirations: int = Field(2, ge=0, description="elite programs shown to LLM operators besides the parents")

    operator: str | None = Field(
        None, description=f"{OPERATORS.choices(' | ')} (default: llm when models are configured, else gp)"
    )
    operator_options: dict[str, Any] = Field(
        default_factory=dict,
        description="settings of the operator (checked against its Options; llm: the [llm] section)",
    )
    llm: LLMConfig | None = None

    finetune_every: int = Field(0, ge=0, description="fine-tune the operator model every N proposals (0: never)")
    finetune_method: Literal["sft", "dpo", "grpo"] = "sft"
    finetune_base: str | None = Field(None, description="local model directory to fine-tune (hf:DIR or DIR)")
    finetune_out: str | None = Field(None, description="where rounds are written (default: finetune/<campaign>)")
    finetune_steps: int | None = Field(None, ge=1, description="training steps per round (default: one epoch)")

    sandbox: str = Field("auto", description=f"sandbox backend: {' | '.join(sandbox_choices())}")
    sandbox_options: dict[str, Any] = Field(
        default_factory=dict, description="further settings of the sandbox backend (checked against its Options)"
    )
    executor: Literal["local", "ray"] = Field("local", description="where evaluations run: here, or on a Ray cluster")
    ray_address: str | None = Field(None, description="Ray cluster address (default: start a local Ray instance)")
    isolation: Literal["auto", "bwrap", "namespaces", "unshare", "none"] = Field(
        "auto", description="process sandbox walls: auto, bwrap, namespaces (unshare: old name), none"
    )
    unsafe_no_isolation: bool = Field(
        False,
        exclude=True,  # a decision for one run on one machine: never stored with the campaign
        description="run candidates without isolation where nothing else works (they can read files, reach the network)",
    )
    docker_image: str | None = Field(None, description="image for the docker sandbox (default: offline host runtime)")

    progress: bool = True

    @model_validator(mode="after")
    def _operator_choice(self) -> Config:
        if self.operator is not None and self.operator not in OPERATORS:
            raise ValueError(f"unknown operator {self.operator!r}; choose one of {OPERATORS.choices()}")
        if self.operator == "llm" and self.llm is None:
            raise ValueError("operator 'llm' needs an [llm] section with at least one model")
        if self.operator_kind == "llm" and self.operator_options:
            raise ValueError("the llm operator's settings go in the [llm] section, not operator_options")
        try:
            OPERATORS.check_options(self.operator_kind, self.operator_settings())
        except ConfigError as e:
            raise ValueError(f"operator_options: {e}") from None
        return self

    @model_validator(mode="after")
    def _selection_known(self) -> Config:
        if self.selection not in SELECTION_POLICIES:
            raise ValueError(f"unknown selection {self.selection!r}; choose one of {SELECTION_POLICIES.choices()}")
        try:
            check_options(self.selection, self.policy_options())
        except ConfigError as e:
            raise ValueError(f"selection_options: {e}") from None
        return self

    @model_validator(mode="after")
    def _sandbox_known(self) -> Config:
        if self.sandbox not in sandbox_choices():
            raise ValueError(f"unknown sandbox {self.sandbox!r}; choose one of {', '.join(sandbox_choices())}")
        return self

    @model_validator(mode="after")
    def _finetune_needs(self) -> Config:
        if self.finetune_every and self.finetune_base is None:
            raise ValueError("finetune_every needs finetune_base: the local model directory to train")
        if self.finetune_every and self.operator_kind != "llm":
            raise ValueError("finetune_every needs an LLM operator (--model ...) whose model is then replaced")
        return self

    def policy_options(self) -> dict[str, Any]:
        """The selection policy's options: ``selection_options`` over the dedicated
        settings (``tournament_size``, the ``map_elites`` grid)."""
        base: dict[str, Any] = {}
        if self.selection == "tournament":
            base["size"] = self.tournament_size
        elif self.selection == "map_elites":
            base = self.map_elites.model_dump()
        return {**base, **self.selection_options}

    def operator_settings(self) -> Any:
        """The operator's options: the ``[llm]`` section for llm, else ``operator_options``."""
        return self.llm if self.operator_kind == "llm" else self.operator_options

    def stored(self) -> dict[str, Any]:
        """What is kept with the campaign: the settings, without credentials (the storage
        URL's password) or one-run decisions (``unsafe_no_isolation``)."""
        data = self.model_dump(mode="json")
        data["storage"] = without_credentials(self.storage)
        return data

    @property
    def operator_kind(self) -> str:
        return self.operator or ("llm" if self.llm is not None else "gp")

    @property
    def window(self) -> int:
        """Proposals in flight at once; proposal n sees the archive as of proposal n - window."""
        llm_conc = getattr(self.llm, "concurrency", 0) if self.operator_kind == "llm" and self.llm else 0
        return max(self.workers, llm_conc or 0)

    def campaign_name(self, problem_name: str) -> str:
        return self.name or problem_name


def _format_error(e: ValidationError) -> str:
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")  # a check across settings says which
    more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
    return f"invalid config: {where + ': ' if where else ''}{message}{more}"


def build_config(data: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_error(e)) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML or YAML config file into a plain dict (validated later)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    text = p.read_text()
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except Exception as e:  # noqa: BLE001 - any parse error is the user's to fix
        raise ConfigError(f"cannot parse config file {p}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a table of settings")
    return data


def merge_for_resume(stored: dict[str, Any], given: dict[str, Any]) -> Config:
    """The stored config with the few changes a resume allows; anything else that
    differs is an error naming the setting. Both sides are compared as the config
    stores them (normalised: defaults filled in, model specs expanded), so the command
    that started a campaign resumes it however its settings were written."""
    normal = build_config(stored).model_dump(mode="json")
    fixed = {k: v for k, v in given.items() if k not in RESUMABLE_CHANGES and k != "name"}
    asked = build_config({**normal, **fixed}).model_dump(mode="json") if fixed else normal
    for key in fixed:
        if key in normal and asked.get(key) != normal.get(key):
            raise ConfigError(
                f"campaign {stored.get('name')!r} was started with {key}={normal[key]!r}, not {asked[key]!r}: "
                f"drop that setting to resume it, or pass --name to start a new campaign"
            )
    changes = {k: v for k, v in given.items() if k in RESUMABLE_CHANGES}
    return build_config({**normal, **changes})


def without_credentials(url: str) -> str:
    """The storage URL as it may be stored or shown: any password removed."""
    from evolve.archive.db import without_credentials as strip  # URL parsing is the archive's

    return strip(url)
