"""Every client kind, over real HTTP through the real openai / anthropic SDKs."""

from __future__ import annotations

import asyncio
import json
import socket
import sys

import pytest

from evolve.errors import OperatorError
from evolve.operators.llm import make_client, parse_spec
from tests.llm_servers import Reply

MSGS = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hi"}]


def run(coro):
    return asyncio.run(coro)


async def start_and_complete(client, **kw):
    await client.start()
    try:
        return await client.complete(MSGS, max_tokens=kw.get("max_tokens", 50), temperature=0.5, seed=7)
    finally:
        await client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_spec_syntax():
    assert parse_spec("openai:gpt-4o-mini").kind == "openai"
    p = parse_spec("openai-compat:qwen2.5-coder:7b@http://127.0.0.1:11434/v1/")
    assert (p.kind, p.model, p.base_url) == ("openai-compat", "qwen2.5-coder:7b", "http://127.0.0.1:11434/v1")
    assert parse_spec("http://10.0.0.5:8000/v1") == parse_spec("openai-compat:http://10.0.0.5:8000/v1")
    assert parse_spec("hf:/models/tiny").model == "/models/tiny"
    for bad in ("gpt-4o", "openai:", "gemini:pro", "openai-compat:model-without-url", "openai-compat:m@http://"):
        with pytest.raises(OperatorError, match="model spec|base URL"):
            parse_spec(bad)


def test_openai_client(server, keys):
    server.script = lambda req: f"hi from {req.model}"
    client = make_client("openai:test-model", base_url=server.openai_url)
    done = run(start_and_complete(client))
    assert (done.text, done.finish_reason) == ("hi from test-model", "stop")
    assert done.input_tokens == 4 and done.output_tokens == 3
    body = server.completion_bodies()[-1]
    assert body["messages"] == MSGS and body["seed"] == 7 and body["max_completion_tokens"] == 50
    request = server.requests[-1]
    assert request.headers["authorization"] == "Bearer sk-test-openai"
    assert "sk-test" not in json.dumps(server.completion_bodies())  # the key travels only in a header


def test_anthropic_client(server, keys):
    server.script = lambda req: Reply(text="cut off", finish_reason="length")
    client = make_client("anthropic:test-model", base_url=server.anthropic_url)
    done = run(start_and_complete(client))
    assert (done.text, done.finish_reason) == ("cut off", "length")
    body = server.completion_bodies()[-1]
    assert body["system"] == "be brief" and body["messages"] == [{"role": "user", "content": "say hi"}]
    headers = server.requests[-1].headers  # SDK versions differ: x-api-key or a bearer token
    assert "sk-test-anthropic" in (
        headers.get("x-api-key", ""),
        headers.get("authorization", "").removeprefix("Bearer "),
    )


def test_compat_url_needs_no_key_and_bare_url_uses_first_model(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.script = lambda req: req.model
    assert run(start_and_complete(make_client(f"openai-compat:other-model@{server.openai_url}"))).text == "other-model"
    assert server.completion_bodies()[-1]["max_tokens"] == 50  # compatible servers get max_tokens
    assert run(start_and_complete(make_client(server.openai_url))).text == "test-model"


def test_server_without_model_list_is_probed_with_one_token(server, keys):
    server.list_models = False
    client = make_client("openai:test-model", base_url=server.openai_url)

    async def start_close():
        await client.start()
        await client.close()

    run(start_close())
    assert server.completions == 1 and server.completion_bodies()[-1]["max_completion_tokens"] == 1


def test_named_key_variable(server, monkeypatch):
    monkeypatch.setenv("ROUTER_KEY", "sk-router")
    server.api_key = "sk-router"
    client = make_client(f"openai-compat:test-model@{server.openai_url}", api_key_env="ROUTER_KEY")
    assert run(start_and_complete(client)).text == "ok"


@pytest.mark.parametrize("spec", ["openai:test-model", "anthropic:test-model"])
def test_retries_on_429_and_500_succeed(server, keys, spec):
    url = server.openai_url if spec.startswith("openai") else server.anthropic_url
    client = make_client(spec, base_url=url, max_retries=3)
    server.fail_next(429, count=1, retry_after=0.01)
    server.fail_next(500, count=1)
    server.fail_next(503, count=1)
    assert run(start_and_complete(client)).text == "ok"
    assert server.completions == 4


def test_retries_exhausted_raise(server, keys):
    client = make_client("openai:test-model", base_url=server.openai_url, max_retries=1)
    server.fail_next(500, count=5)
    with pytest.raises(Exception, match="500"):
        run(start_and_complete(client))
    assert server.completions == 2


def test_garbage_body_raises(server, keys):
    server.garbage_next(1)
    with pytest.raises(ValueError, match="malformed reply"):
        run(start_and_complete(make_client("openai:test-model", base_url=server.openai_url, max_retries=0)))


@pytest.mark.parametrize("spec,var", [("openai:gpt-4o", "OPENAI_API_KEY"), ("anthropic:claude-x", "ANTHROPIC_API_KEY")])
def test_missing_key_is_one_clear_error(monkeypatch, spec, var):
    monkeypatch.delenv(var, raising=False)
    with pytest.raises(OperatorError, match=f"{var} is not set"):
        run(make_client(spec).start())
    with pytest.raises(OperatorError, match="MY_KEY is not set"):
        run(make_client(spec, api_key_env="MY_KEY").start())


@pytest.mark.parametrize("spec", ["openai:test-model", "anthropic:test-model", "openai-compat"])
def test_unreachable_server_is_one_clear_error(keys, spec):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    if spec == "openai-compat":
        client = make_client(f"openai-compat:m@{url}/v1", timeout=2)
    else:
        client = make_client(spec, base_url=url + ("/v1" if spec.startswith("openai") else ""), timeout=2)
    with pytest.raises(OperatorError, match="cannot reach"):
        run(client.start())


def test_unknown_model_and_rejected_key(server, keys):
    with pytest.raises(OperatorError, match=r"'gpt-9' is not served .*it serves: test-model, other-model"):
        run(make_client("openai:gpt-9", base_url=server.openai_url).start())
    with pytest.raises(OperatorError, match="has no model 'claude-9'"):
        run(make_client("anthropic:claude-9", base_url=server.anthropic_url).start())
    server.api_key = "the-right-key"
    with pytest.raises(OperatorError, match="rejected the API key: check OPENAI_API_KEY"):
        run(make_client("openai:test-model", base_url=server.openai_url).start())
    with pytest.raises(OperatorError, match="rejected the API key: check ANTHROPIC_API_KEY"):
        run(make_client("anthropic:test-model", base_url=server.anthropic_url).start())


def test_vllm_without_vllm_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # as if not installed, even where it is
    with pytest.raises(OperatorError, match=r"pip install 'evolve-search\[vllm\]'"):
        run(make_client("vllm:/models/none").start())


def test_hf_without_backend(monkeypatch):
    monkeypatch.setitem(sys.modules, "evolve.operators.llm.hf", None)
    with pytest.raises(OperatorError, match="finetune"):
        make_client("hf:/models/none")


def test_options_only_for_vllm():
    with pytest.raises(OperatorError, match="only vllm: and hf:"):
        make_client("openai:gpt-4o", gpu_memory_utilization=0.5)


def test_server_survives_hundreds_of_concurrent_calls(server, keys):
    server.latency = 0.3

    async def many():
        client = make_client("openai:test-model", base_url=server.openai_url, concurrency=200)
        await client.start()
        try:
            return await asyncio.gather(*(client.complete(MSGS, max_tokens=5, temperature=0) for _ in range(200)))
        finally:
            await client.close()

    assert len(run(many())) == 200
    assert server.max_in_flight > 100


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_models_of_one_endpoint_share_one_pool_sized_to_the_concurrency(server, keys, kind):
    server.latency = 0.05
    server.models = ["model-a", "model-b"]
    url = server.openai_url if kind == "openai" else server.anthropic_url

    async def many():
        a = make_client(f"{kind}:model-a", base_url=url, concurrency=8)
        b = make_client(f"{kind}:model-b", base_url=url, concurrency=8)
        await asyncio.gather(a.start(), b.start())
        try:
            assert a._http is b._http  # one group of pools for the endpoint
            calls = [c.complete(MSGS, max_tokens=5, temperature=0) for c in (a, b) for _ in range(40)]
            done = await asyncio.gather(*calls)
        finally:
            await a.close()
            assert not any(c.is_closed for c in b._http)  # still b's
            pools = b._http
            await b.close()
        assert all(c.is_closed for c in pools)  # closed with its last user
        return done

    assert len(run(many())) == 80
    assert server.connections <= 8 + 2  # every call reused a kept-alive connection
    assert server.max_in_flight <= 8 + 2


def test_high_concurrency_is_split_among_small_pools_used_in_turn(server, keys):
    server.latency = 0.05

    async def many():
        client = make_client("openai:test-model", base_url=server.openai_url, concurrency=40)
        await client.start()
        try:
            pools = client._http
            calls = await asyncio.gather(*(client.complete(MSGS, max_tokens=5, temperature=0) for _ in range(120)))
            return pools, calls
        finally:
            await client.close()

    pools, calls = run(many())
    assert len(calls) == 120 and len(pools) == 3  # 40 calls (+2 probes) in pools of at most 16
    assert server.connections <= 42  # kept alive and reused


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_no_uuid_is_drawn_per_request(server, keys, kind, monkeypatch):
    import uuid

    url = server.openai_url if kind == "openai" else server.anthropic_url
    client = make_client(f"{kind}:test-model", base_url=url)

    def forbidden():
        raise AssertionError("a uuid was drawn for a request")

    async def calls():
        await client.start()
        monkeypatch.setattr(uuid, "uuid4", forbidden)
        try:
            return [await client.complete(MSGS, max_tokens=5, temperature=0) for _ in range(3)]
        finally:
            await client.close()

    assert [c.text for c in run(calls())] == ["ok"] * 3


def test_hf_spec_delegates_to_the_hf_backend(tmp_path):
    from evolve.operators.llm import hf

    client = make_client(f"hf:{tmp_path}", device="cpu")
    assert isinstance(client, hf.HFClient) and client.spec == f"hf:{tmp_path}"
    with pytest.raises(OperatorError, match="no config.json"):
        run(client.start())  # an empty directory holds no model
