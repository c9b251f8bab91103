"""Model specs: the one-line strings that name a model backend.

===================================== ==============================================
``openai:<model>``                     OpenAI API (key: ``OPENAI_API_KEY``)
``anthropic:<model>``                  Anthropic API (key: ``ANTHROPIC_API_KEY``)
``openai-compat:<model>@<base url>``   any OpenAI-compatible server: ``vllm serve``,
                                       llama.cpp, Ollama, OpenRouter, LM Studio...
``<base url>``                         the same, using the first model the server lists
                                       (``http://127.0.0.1:8000/v1``)
``vllm:<local model dir>``             vLLM's in-process engine (extra ``[vllm]``)
``hf:<local model dir>``               transformers generation (extra ``[finetune]``)
===================================== ==============================================

Model names may contain ``:`` and ``/`` (``openai-compat:qwen2.5-coder:7b@http://...``);
the base URL is what follows the last ``@`` before ``http``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from evolve.errors import OperatorError

KINDS = ("openai", "anthropic", "openai-compat", "vllm", "hf")
_EXAMPLES = "openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, openai-compat:MODEL@http://127.0.0.1:8000/v1, vllm:/models/x, hf:/models/x"


@dataclass(frozen=True)
class ParsedSpec:
    kind: str
    model: str
    """The model name ('' for a bare URL: the server's first model), or a local path."""
    base_url: str | None = None


def parse_spec(spec: str) -> ParsedSpec:
    """Split a spec into its backend kind, model and base URL; OperatorError if malformed."""
    spec = (spec or "").strip()
    if spec.startswith(("http://", "https://")):
        return ParsedSpec("openai-compat", "", _url(spec, spec))
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in KINDS or not rest.strip():
        raise OperatorError(f"bad model spec {spec!r}: write one of {_EXAMPLES}")
    rest = rest.strip()
    if kind == "openai-compat":
        at = max(rest.rfind("@http://"), rest.rfind("@https://"))
        if at < 0:
            if rest.startswith(("http://", "https://")):
                return ParsedSpec(kind, "", _url(rest, spec))
            raise OperatorError(f"bad model spec {spec!r}: write openai-compat:MODEL@http://HOST:PORT/v1")
        return ParsedSpec(kind, rest[:at], _url(rest[at + 1 :], spec))
    return ParsedSpec(kind, rest)


def _url(url: str, spec: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OperatorError(f"bad base URL in model spec {spec!r}: write http://HOST:PORT/v1")
    return url.rstrip("/")


def is_local_url(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".local")
