"""What a call costs (configured prices, the price table, local models) and where the SDK
clients go (OPENAI_BASE_URL / ANTHROPIC_BASE_URL honoured, an explicit base_url wins)."""

from __future__ import annotations

import asyncio

import pytest

from evolve.errors import OperatorError
from evolve.operators.llm.config import LLMConfig, ModelSpec
from evolve.operators.llm.factory import make_client
from tests.llm_servers import ScriptedLLMServer


def test_common_hosted_models_have_table_prices():
    for spec in ("openai:gpt-4o-mini", "openai:gpt-4.1", "anthropic:claude-sonnet-4-5"):
        m = ModelSpec(spec=spec)
        assert m.price_known, spec
        assert m.cost(1_000_000, 0) > 0 and m.cost(0, 1_000_000) > m.cost(1_000_000, 0), spec
    assert ModelSpec(spec="openai:gpt-4o-mini").cost(1_000_000, 1_000_000) == pytest.approx(0.75)


def test_configured_prices_win_and_local_models_are_free():
    assert ModelSpec(spec="openai:gpt-4o-mini", price_in_per_mtok=1.0).cost(2_000_000, 5) == pytest.approx(2.0)
    assert ModelSpec(spec="openai-compat:qwen@http://127.0.0.1:8000/v1").cost(10**6, 10**6) == 0.0
    assert ModelSpec(spec="openai-compat:qwen@http://127.0.0.1:8000/v1").price_known


def test_a_cost_cap_needs_every_price():
    LLMConfig(models=["openai:gpt-4o-mini"], max_cost=5).check_prices()
    LLMConfig(models=["openai:house-model"]).check_prices()  # no cap: an unknown price is fine
    with pytest.raises(OperatorError, match="price of openai:house-model is unknown") as e:
        LLMConfig(models=["openai:house-model", "openai:gpt-4o-mini"], max_cost=5).check_prices()
    assert "\n" not in str(e.value)
    LLMConfig(models=[{"spec": "openai:house-model", "price_in_per_mtok": 1.0}], max_cost=5).check_prices()


def test_openai_base_url_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gateway.example:9000/v1")
    assert make_client("openai:gpt-4o-mini").address == "http://gateway.example:9000/v1"
    assert make_client("openai:gpt-4o-mini", base_url="http://explicit:1/v1").address == "http://explicit:1/v1"
    # an openai-compat spec names its own server
    assert make_client("openai-compat:m@http://127.0.0.1:8000/v1").address == "http://127.0.0.1:8000/v1"


def test_anthropic_base_url_from_the_environment_is_used(monkeypatch):
    with ScriptedLLMServer(models=["claude-sonnet-4-5"]) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        client = make_client("anthropic:claude-sonnet-4-5")
        assert client.address == server.anthropic_url

        async def go():
            await client.start()
            await client.close()

        asyncio.run(go())
        assert any(r.path.startswith("/v1/models/claude-sonnet-4-5") for r in server.requests)
