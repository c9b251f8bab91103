"""`evolve run --replay` from the command line: a recorded LLM campaign re-runs with no
model server at all and reproduces its programs and scores exactly."""

import pytest

import evolve
from tests.e2e.conftest import QUADRATIC, evolve_cli
from tests.llm_servers import ScriptedLLMServer
from tests.operators.llm.test_llm_campaign import toward_three


@pytest.mark.slow
def test_replay_reproduces_a_recorded_campaign(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    db = f"sqlite:///{tmp_path}/r.db"
    with ScriptedLLMServer(toward_three) as server:
        original = evolve.create_campaign(
            QUADRATIC,
            storage=db,
            name="live",
            budget=8,
            islands=2,
            sandbox="process",
            seed=4,
            llm={"models": [{"spec": "openai:test-model", "base_url": server.openai_url}], "concurrency": 3},
        )
        original.run()
    # the server is gone: any model call would fail
    evolve_cli("run", QUADRATIC, "--storage", db, "--replay", "live", "--no-progress", cwd=tmp_path)
    replayed = evolve.load_campaign("live-replay", db)

    def trace(c):
        return [
            (p.seq, p.code, p.status, p.objective, p.model, p.reason)
            for p in c.archive.programs(c.info.id, order="seq")
            if p.seq is not None
        ]

    assert trace(replayed) == trace(original) and len(trace(original)) >= 8
