"""HFClient (``hf:<dir>``) on the tiny local model: loading, templates, tokens, threads."""

from __future__ import annotations

import asyncio

import pytest

from evolve.errors import OperatorError
from evolve.operators.llm.client import LLMClient
from evolve.operators.llm.hf import FALLBACK_CHAT_TEMPLATE, HFClient, fallback_prompt

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "def f(x):\n    return x"}]


def run(coro):
    return asyncio.run(coro)


def test_bad_specs_and_missing_models_raise_operator_error(tmp_path):
    with pytest.raises(OperatorError, match="hf:<local model directory>"):
        HFClient("openai:gpt")
    with pytest.raises(OperatorError, match="holds no model"):
        run(HFClient(f"hf:{tmp_path}").start())
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(OperatorError, match="cannot load the model"):
        run(HFClient(f"hf:{tmp_path}").start())


def test_generates_with_chat_template_and_counts_tokens(tiny_model):
    client = HFClient(f"hf:{tiny_model}")
    assert isinstance(client, LLMClient)

    async def go():
        await client.start()
        text = client.render(CHAT)
        assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>\n") and text.endswith("<|im_start|>assistant\n")
        a = await client.complete(CHAT, max_tokens=12, temperature=1.0, seed=3)
        b = await client.complete(CHAT, max_tokens=12, temperature=1.0, seed=3)
        g1 = await client.complete(CHAT, max_tokens=12, temperature=0.0)
        g2 = await client.complete(CHAT, max_tokens=12, temperature=0.0)
        await client.close()
        return text, a, b, g1, g2

    text, a, b, g1, g2 = run(go())
    assert a.text == b.text and g1.text == g2.text  # same seed, same text; greedy is deterministic
    assert a.input_tokens == len(client_tokens(tiny_model, text))
    for c in (a, g1):
        assert 1 <= c.output_tokens <= 12
        assert c.finish_reason == ("length" if c.output_tokens == 12 else "stop")


def client_tokens(model_dir, text):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)(text, add_special_tokens=False)["input_ids"]


def test_fallback_template_matches_the_jinja_version(tmp_path):
    from tests.tiny_model import build_tiny_model

    plain = build_tiny_model(tmp_path / "plain", chat_template=False)
    client = HFClient(f"hf:{plain}")
    run(client.start())
    assert not client.tokenizer.chat_template
    assert (
        client.render(CHAT)
        == fallback_prompt(CHAT)
        == "### System:\nBe brief.\n\n### User:\ndef f(x):\n    return x\n\n### Assistant:\n"
    )
    client.tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE  # what fine-tuning installs
    assert client.tokenizer.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True) == fallback_prompt(
        CHAT
    )
    out = run(client.complete(CHAT, max_tokens=4, temperature=0.7, seed=1))
    assert out.output_tokens >= 1


def test_generation_never_blocks_the_event_loop(tiny_model):
    client = HFClient(f"hf:{tiny_model}")

    async def go():
        await client.start()
        ticks = 0
        done = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        # Two generations at once: they queue on the client's lock, the loop keeps running.
        results = await asyncio.gather(
            client.complete(CHAT, max_tokens=48, temperature=1.0, seed=1),
            client.complete(CHAT, max_tokens=48, temperature=1.0, seed=2),
        )
        done.set()
        await t
        return ticks, results

    ticks, results = run(go())
    assert len(results) == 2 and all(r.output_tokens >= 1 for r in results)
    assert ticks > 5
