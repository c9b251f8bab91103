"""An LLM campaign from the command line: the identical command resumes it, the SDKs'
OPENAI_BASE_URL is honoured and shown by `evolve status`, and a cost cap is refused
when a model's price is unknown (real SDK, real HTTP, scripted server)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import QUADRATIC, evolve_cli
from tests.llm_servers import ScriptedLLMServer
from tests.operators.llm.test_llm_campaign import toward_three


@pytest.fixture
def gateway(monkeypatch):
    """A model gateway that serves gpt-4o-mini, reached through OPENAI_BASE_URL."""
    with ScriptedLLMServer(toward_three, models=["gpt-4o-mini", "house-model"]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        yield server


def _run(tmp_path, *extra, check=True):
    args = ["run", QUADRATIC, "--budget", "4", "--islands", "1", "--sandbox", "process"]
    args += ["--storage", f"sqlite:///{tmp_path}/llm.db", "--name", "llm", "--no-progress", *extra]
    return evolve_cli(*args, cwd=tmp_path, check=check)


def test_the_identical_command_resumes_an_llm_campaign(tmp_path, gateway):
    first = _run(tmp_path, "--model", "openai:gpt-4o-mini", "--max-cost", "5")
    assert gateway.completions > 0, first.stdout
    calls = gateway.completions
    again = _run(tmp_path, "--model", "openai:gpt-4o-mini", "--max-cost", "5")
    assert "resuming at 4" in again.stdout, again.stdout
    assert gateway.completions == calls  # nothing left to do: no new model call

    status = json.loads(
        evolve_cli("status", "llm", "--storage", f"sqlite:///{tmp_path}/llm.db", "--json", cwd=tmp_path).stdout
    )
    assert status["llm_endpoints"] == {"openai:gpt-4o-mini": gateway.openai_url}
    assert status["spend"]["cost"] > 0  # priced from the table, not 0
    table = evolve_cli("status", "llm", "--storage", f"sqlite:///{tmp_path}/llm.db", cwd=tmp_path).stdout
    assert gateway.openai_url in table

    changed = _run(tmp_path, "--model", "openai:house-model", "--max-cost", "5", "--price-in", "1", check=False)
    assert changed.returncode == 2 and "was started with llm=" in changed.stderr


def test_a_cost_cap_on_a_model_without_a_price_is_refused(tmp_path, gateway):
    refused = _run(tmp_path, "--model", "openai:house-model", "--max-cost", "1", check=False)
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert "price of openai:house-model is unknown" in line and "--price-in" in line
    assert gateway.completions == 0

    priced = _run(tmp_path, "--model", "openai:house-model", "--max-cost", "1", "--price-in", "2", "--price-out", "8")
    assert "resuming" not in priced.stdout
    status = json.loads(
        evolve_cli("status", "llm", "--storage", f"sqlite:///{tmp_path}/llm.db", "--json", cwd=tmp_path).stdout
    )
    assert 0 < status["spend"]["cost"] < 1
