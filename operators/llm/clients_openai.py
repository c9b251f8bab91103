"""OpenAI and OpenAI-compatible servers (vllm serve, llama.cpp, Ollama, OpenRouter) via AsyncOpenAI.

One SDK client per model, built at ``start()`` and shared by every call, on an HTTP pool
shared by every model of the same endpoint and sized to the operator's concurrency
(``http.py``). Retries and backoff (429 with retry-after, 5xx, connection errors,
timeouts) are the SDK's own ``max_retries``.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
from typing import Any

from evolve.errors import OperatorError
from evolve.operators.llm.client import Completion, Message
from evolve.operators.llm.http import CountingKeys, release, shared_clients
from evolve.operators.llm.specs import is_local_url

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
_NO_KEY = "no-key"  # local servers ignore the key, but the SDK insists on one


class OpenAIClient:
    def __init__(
        self,
        spec: str,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        compat: bool = False,
        concurrency: int = 32,
    ) -> None:
        self.spec = spec
        self.model = model
        # An explicit base_url wins, then the SDK's own OPENAI_BASE_URL (proxies, gateways).
        self.base_url = (base_url or (None if compat else os.environ.get("OPENAI_BASE_URL")) or OPENAI_URL).rstrip("/")
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.compat = compat
        """An OpenAI-compatible server: key optional, ``max_tokens`` instead of ``max_completion_tokens``."""
        self.concurrency = concurrency
        """Calls in flight at once (the operator's): the shared HTTP pool is sized to it."""
        # openai.AsyncOpenAI once started, on the endpoint's shared HTTP pool. Typed loosely on
        # purpose: the SDK's overloads change between the versions the [llm] extra allows.
        self._sdk: Any = None
        self._http: Any = None  # the endpoint's shared pools
        self._turns: Any = None  # one SDK client per pool, used in turn

    @property
    def address(self) -> str:
        return self.base_url

    def _key(self) -> str:
        env = self.api_key_env or "OPENAI_API_KEY"
        key = os.environ.get(env)
        if key:
            return key
        if self.api_key_env:
            raise OperatorError(f"{self.spec}: the environment variable {env} is not set: export {env}=<your key>")
        if self.compat:
            return _NO_KEY
        raise OperatorError(
            f"{self.spec}: OPENAI_API_KEY is not set: export it, or name another variable with api_key_env"
        )

    async def start(self) -> None:
        import openai

        if self._sdk is None:
            key = self._key()
            self._http = shared_clients(openai, self.base_url, self.concurrency)
            sdks = [
                _sdk_class(openai)(
                    api_key=key,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    http_client=http,
                )
                for http in self._http
            ]
            self._sdk, self._turns = sdks[0], itertools.cycle(sdks)
        await self._verify(self._sdk)

    async def _verify(self, sdk: Any) -> None:
        """One cheap request: the key is accepted and the model is served."""
        import openai

        probe = sdk.with_options(max_retries=1, timeout=min(self.timeout, 20.0))
        try:
            try:
                served = [m.id async for m in await probe.models.list()]
            except (openai.NotFoundError, openai.PermissionDeniedError):
                # No /models here (some servers), or a key restricted to inference: a 1-token call instead.
                served = None
                await probe.chat.completions.create(
                    model=self.model, messages=[{"role": "user", "content": "hi"}], **self._limit(1)
                )
        except openai.AuthenticationError:
            where = self.api_key_env or "OPENAI_API_KEY"
            raise OperatorError(f"{self.spec}: {self.base_url} rejected the API key: check {where}") from None
        except (openai.APIConnectionError, openai.APITimeoutError) as e:
            hint = "is the server running?" if is_local_url(self.base_url) else "check the URL and your network"
            raise OperatorError(f"{self.spec}: cannot reach {self.base_url} ({type(e).__name__}): {hint}") from None
        except openai.APIStatusError as e:
            raise OperatorError(f"{self.spec}: {self.base_url} answered HTTP {e.status_code}: {_short(e)}") from None
        except openai.OpenAIError as e:
            raise OperatorError(f"{self.spec}: cannot use {self.base_url}: {_short(e)}") from None
        if served is None:
            return
        if not self.model:
            if not served:
                raise OperatorError(f"{self.spec}: the server at {self.base_url} serves no model")
            self.model = served[0]
            log.info("%s: using the served model %s", self.spec, self.model)
        elif self.model not in served:
            listed = ", ".join(served[:10]) + (" ..." if len(served) > 10 else "")
            raise OperatorError(
                f"{self.spec}: model {self.model!r} is not served at {self.base_url} (it serves: {listed})"
            )

    def _limit(self, n: int) -> dict[str, int]:
        # OpenAI's newer models only take max_completion_tokens; compatible servers know max_tokens.
        return {"max_tokens": n} if self.compat else {"max_completion_tokens": n}

    async def complete(
        self, messages: list[Message], *, max_tokens: int, temperature: float, seed: int | None = None
    ) -> Completion:
        if self._sdk is None:
            raise RuntimeError(f"{self.spec}: call start() before complete()")
        extra = {} if seed is None else {"seed": seed}
        reply = await next(self._turns).chat.completions.create(
            model=self.model, messages=messages, temperature=temperature, **self._limit(max_tokens), **extra
        )
        if isinstance(reply, str) or not getattr(reply, "choices", None):
            raise ValueError(f"the server sent a malformed reply: {str(reply)[:200]!r}")
        choice = reply.choices[0]
        usage = reply.usage
        return Completion(
            text=choice.message.content or "",
            input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            finish_reason=choice.finish_reason,
        )

    async def close(self) -> None:
        if self._http is not None:
            await release(self._http)  # the SDK's close() would close the pool its neighbours share
        self._sdk = self._http = self._turns = None


def _short(e: Exception) -> str:
    return " ".join(str(e).split())[:200]


@functools.cache
def _sdk_class(openai):
    return type("AsyncOpenAI", (CountingKeys, openai.AsyncOpenAI), {})
