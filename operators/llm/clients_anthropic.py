"""Anthropic Messages API via AsyncAnthropic.

System messages travel in the separate ``system`` field; a ``max_tokens`` stop is
reported as finish_reason 'length' like the OpenAI backends, so truncation is handled
in one place. Retries and backoff are the SDK's own ``max_retries``. The HTTP pool is
shared by every model of the same endpoint and sized to the concurrency (``http.py``).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
from typing import Any

from evolve.errors import OperatorError
from evolve.operators.llm.client import Completion, Message
from evolve.operators.llm.clients_openai import _short
from evolve.operators.llm.http import CountingKeys, release, shared_clients

ANTHROPIC_URL = "https://api.anthropic.com"

ANTHROPIC_URL = "https://api.anthropic.com"


class AnthropicClient:
    def __init__(
        self,
        spec: str,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        concurrency: int = 32,
    ) -> None:
        self.spec = spec
        self.model = model
        # An explicit base_url wins, then the SDK's own ANTHROPIC_BASE_URL (proxies, gateways).
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.concurrency = concurrency
        # anthropic.AsyncAnthropic once started, on the endpoint's shared HTTP pool; typed loosely
        # like the OpenAI client's (the SDK's signatures differ across the versions allowed).
        self._sdk: Any = None
        self._http: Any = None  # the endpoint's shared pools
        self._turns: Any = None  # one SDK client per pool, used in turn
        self._takes_temperature = False

    async def start(self) -> None:
        import anthropic

        env = self.api_key_env or "ANTHROPIC_API_KEY"
        key = os.environ.get(env)
        if not key:
            hint = "" if self.api_key_env else ", or name another variable with api_key_env"
            raise OperatorError(
                f"{self.spec}: the environment variable {env} is not set: export {env}=<your key>{hint}"
            )
        if self._sdk is None:
            self._http = shared_clients(anthropic, self.base_url or ANTHROPIC_URL, self.concurrency)
            sdks = [
                _sdk_class(anthropic)(
                    api_key=key,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    http_client=http,
                )
                for http in self._http
            ]
            self._sdk, self._turns = sdks[0], itertools.cycle(sdks)
            # Recent SDKs dropped sampling parameters (the API picks them per model); older ones take them.
            self._takes_temperature = "temperature" in inspect.signature(self._sdk.messages.create).parameters
        sdk = self._sdk
        where = self.base_url or "the Anthropic API"
        probe = sdk.with_options(max_retries=1, timeout=min(self.timeout, 20.0))
        try:
            await probe.models.retrieve(self.model)  # free, and accepts aliases
        except anthropic.AuthenticationError:
            raise OperatorError(f"{self.spec}: {where} rejected the API key: check {env}") from None
        except anthropic.NotFoundError:
            raise OperatorError(f"{self.spec}: {where} has no model {self.model!r}: check the model name") from None
        except (anthropic.APIConnectionError, anthropic.APITimeoutError) as e:
            raise OperatorError(
                f"{self.spec}: cannot reach {where} ({type(e).__name__}): check the URL and your network"
            ) from None
        except anthropic.APIStatusError as e:
            raise OperatorError(f"{self.spec}: {where} answered HTTP {e.status_code}: {_short(e)}") from None
        except anthropic.AnthropicError as e:
            raise OperatorError(f"{self.spec}: cannot use {where}: {_short(e)}") from None

    @property
    def address(self) -> str:
        return self.base_url or ANTHROPIC_URL

    async def complete(
        self, messages: list[Message], *, max_tokens: int, temperature: float, seed: int | None = None
    ) -> Completion:
        if self._sdk is None:
            raise RuntimeError(f"{self.spec}: call start() before complete()")
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        chat = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]
        extra: dict[str, Any] = {"system": system} if system else {}
        if self._takes_temperature:
            extra["temperature"] = min(temperature, 1.0)
        reply = await next(self._turns).messages.create(model=self.model, messages=chat, max_tokens=max_tokens, **extra)
        if isinstance(reply, str) or getattr(reply, "content", None) is None:
            raise ValueError(f"the server sent a malformed reply: {str(reply)[:200]!r}")
        text = "".join(getattr(block, "text", "") for block in reply.content)
        usage = reply.usage
        return Completion(
            text=text,
            input_tokens=getattr(usage, "input_tokens", 0) or 0,
            output_tokens=getattr(usage, "output_tokens", 0) or 0,
            finish_reason="length" if reply.stop_reason == "max_tokens" else reply.stop_reason,
        )

    async def close(self) -> None:
        if self._http is not None:
            await release(self._http)  # the SDK's close() would close the pool its neighbours share
        self._sdk = self._http = self._turns = None


@functools.cache
def _sdk_class(anthropic):
    return type("AsyncAnthropic", (CountingKeys, anthropic.AsyncAnthropic), {})
