"""Fixtures for the LLM operator tests: a scripted server on 127.0.0.1 and API keys."""

from __future__ import annotations

import pytest

from tests.llm_servers import ScriptedLLMServer


@pytest.fixture
def server():
    with ScriptedLLMServer(models=["test-model", "other-model"]) as s:
        yield s


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-anthropic")
