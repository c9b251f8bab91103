"""Build an LLMClient from a model spec (see operators.llm.specs for the syntax)."""

from __future__ import annotations

from typing import Any

from evolve.errors import OperatorError
from evolve.operators.llm.client import LLMClient
from evolve.operators.llm.specs import parse_spec


def make_client(
    spec: str,
    *,
    base_url: str | None = None,
    api_key_env: str | None = None,
    timeout: float = 120.0,
    max_retries: int = 4,
    concurrency: int = 32,
    **backend_opts: Any,
) -> LLMClient:
    """An unstarted client for ``spec``; call ``await client.start()`` before use.

    ``base_url`` overrides the API address of ``openai:`` / ``anthropic:`` specs (a proxy,
    Azure-style gateway, or a test server); ``api_key_env`` names the environment variable
    that holds the key. Keys are read from the environment at ``start()``, never stored.
    ``concurrency`` (calls in flight at once) sizes the API backends' shared HTTP pool.
    ``backend_opts`` go to the local backends (vLLM engine arguments for ``vllm:``,
    ``device`` for ``hf:``) and are refused for the API backends.
    """
    parsed = parse_spec(spec)
    if backend_opts and parsed.kind not in ("vllm", "hf"):
        raise OperatorError(
            f"{spec}: unknown options {sorted(backend_opts)}: only vllm: and hf: specs take backend options"
        )
    if parsed.kind in ("openai", "openai-compat"):
        from evolve.operators.llm.clients_openai import OpenAIClient

        compat = parsed.kind == "openai-compat"
        return OpenAIClient(
            spec,
            parsed.model,
            base_url=parsed.base_url if compat else base_url,
            api_key_env=api_key_env,
            timeout=timeout,
            max_retries=max_retries,
            compat=compat,
            concurrency=concurrency,
        )
    if parsed.kind == "anthropic":
        from evolve.operators.llm.clients_anthropic import AnthropicClient

        return AnthropicClient(
            spec,
            parsed.model,
            base_url=base_url,
            api_key_env=api_key_env,
            timeout=timeout,
            max_retries=max_retries,
            concurrency=concurrency,
        )
    if parsed.kind == "vllm":
        from evolve.operators.llm.clients_vllm import VLLMClient

        return VLLMClient(spec, parsed.model, **backend_opts)
    # hf: built by the fine-tuning side; imported lazily so torch stays optional.
    try:
        from evolve.operators.llm.hf import HFClient
    except ImportError as e:
        raise OperatorError(
            f"{spec}: the hf backend needs the finetune extra: pip install 'evolve-search[finetune]' ({e})"
        ) from None
    return HFClient(spec, **backend_opts)
