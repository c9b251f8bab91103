"""Configuration of the LLM operator (embedded in the campaign config as ``llm``).

Example (TOML)::

    [llm]
    ensemble = "bandit"
    max_cost = 20.0
    [[llm.models]]
    spec = "openai:gpt-4o-mini"
    price_in_per_mtok = 0.15
    price_out_per_mtok = 0.60
    [[llm.models]]
    spec = "openai-compat:Qwen/Qwen2.5-Coder-7B-Instruct@http://127.0.0.1:8000/v1"

Only the *name* of the environment variable holding a key is configurable; keys are
never part of the config, so they are never stored with the campaign.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evolve.errors import OperatorError
from evolve.operators.llm.specs import parse_spec

KINDS = ("diff", "rewrite", "crossover")
DEFAULT_MIX = {"diff": 0.6, "rewrite": 0.3, "crossover": 0.1}


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str
    """e.g. 'openai:gpt-4o-mini'; see operators.llm.specs for every form."""
    weight: float = Field(1.0, ge=0.0)
    """Relative chance of being picked (weighted ensemble) or prior (bandit)."""
    price_in_per_mtok: float | None = Field(None, ge=0.0)
    """USD per million input tokens; default: the price table (operators/llm/prices.py), 0 for local models."""
    price_out_per_mtok: float | None = Field(None, ge=0.0)
    api_key_env: str | None = None
    """Environment variable with the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)."""
    base_url: str | None = None
    """Override the API address of an openai:/anthropic: spec (proxy, gateway)."""
    max_tokens: int = Field(4096, ge=1)
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    timeout: float = Field(120.0, gt=0.0)
    """Seconds per HTTP attempt."""
    max_retries: int = Field(4, ge=0)
    """The SDK's own retries with backoff (429 honours retry-after, 5xx, timeouts)."""

    @field_validator("spec")
    @classmethod
    def _valid_spec(cls, value: str) -> str:
        try:
            parse_spec(value)
        except OperatorError as e:
            raise ValueError(str(e)) from None
        return value.strip()

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        from evolve.operators.llm.prices import call_cost

        return call_cost(self.spec, self.price_in_per_mtok, self.price_out_per_mtok, input_tokens, output_tokens)

    @property
    def price_known(self) -> bool:
        from evolve.operators.llm.prices import price_known

        return self.price_in_per_mtok is not None or self.price_out_per_mtok is not None or price_known(self.spec)


class LLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelSpec] = Field(min_length=1)
    ensemble: Literal["weighted", "bandit"] = "weighted"
    concurrency: int = Field(32, ge=1)
    """Model calls in flight at once across all proposals."""
    mix: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MIX))
    """Relative weights of the operator kinds: diff, rewrite, crossover."""
    reflection: bool = True
    """ReEvo reflection: hints before each crossover, and an island-level summary."""
    templates_dir: str | None = None
    """A directory whose *.txt files override the built-in prompt templates."""
    max_cost: float | None = Field(None, gt=0.0)
    """USD; once spent, the operator refuses new proposals (the campaign stops asking)."""

    @field_validator("models", mode="before")
    @classmethod
    def _strings_are_specs(cls, value: Any) -> Any:
        # Let a config say models = ["openai:gpt-4o-mini"] for the common case.
        if isinstance(value, (list, tuple)):
            return [{"spec": v} if isinstance(v, str) else v for v in value]
        if isinstance(value, str):
            return [{"spec": value}]
        return value

    @field_validator("mix")
    @classmethod
    def _valid_mix(cls, mix: dict[str, float]) -> dict[str, float]:
        unknown = set(mix) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown operator kinds {sorted(unknown)} in mix: use {', '.join(KINDS)}")
        if any(w < 0 for w in mix.values()):
            raise ValueError("mix weights must be >= 0")
        if mix.get("diff", 0) + mix.get("rewrite", 0) <= 0:
            raise ValueError("mix needs a positive weight for diff or rewrite (mutation is the fallback)")
        return mix

    def check_prices(self) -> None:
        """A cost cap needs every model's price, or it could never stop the campaign."""
        if self.max_cost is None:
            return
        unknown = [m.spec for m in self.models if m.weight > 0 and not m.price_known]
        if unknown:
            raise OperatorError(
                f"--max-cost {self.max_cost:g} cannot be kept: the price of {', '.join(unknown)} is unknown; "
                "give it with --price-in/--price-out (USD per million tokens) or price_in_per_mtok/"
                "price_out_per_mtok in [[llm.models]]"
            )

    @model_validator(mode="after")
    def _some_weight(self) -> LLMConfig:
        if not any(m.weight > 0 for m in self.models):
            raise ValueError("at least one model needs a weight > 0")
        return self

    @property
    def crossover_rate(self) -> float:
        total = sum(self.mix.values())
        return self.mix.get("crossover", 0.0) / total if total else 0.0
