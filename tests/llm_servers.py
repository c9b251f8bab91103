"""Scripted LLM API servers on 127.0.0.1 for tests and benchmarks.

One asyncio HTTP/1.1 server (keep-alive, hundreds of concurrent connections) speaks
both the OpenAI chat API (``/v1/chat/completions``, ``/v1/models``) and the Anthropic
Messages API (``/v1/messages``, ``/v1/models/{id}``), so tests exercise the real
``openai`` and ``anthropic`` SDKs over real HTTP. It runs on its own event loop in a
background thread; latency is an ``asyncio.sleep``, so slow replies never block others.

What a reply says comes from a *script*: a function of the request (its messages,
model, call number) returning text or a :class:`Reply`, which can also inject faults
(an HTTP status with retry-after, a hang, a garbage body, a truncated reply)::

    with ScriptedLLMServer(script=lambda req: "hello", latency=0.1) as server:
        client = AsyncOpenAI(base_url=server.openai_url, api_key="k")
        server.fail_next(429, count=2, retry_after=0.01)   # the next two calls are 429s
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """What the server does for one completion request."""

    text: str = ""
    finish_reason: str = "stop"
    """'stop' or 'length' (a truncated reply; mapped to Anthropic's 'max_tokens')."""
    status: int = 200
    """Anything but 200 sends an API error body with this status."""
    retry_after: float | None = None
    hang: bool = False
    """Never answer (until the client gives up or the server stops)."""
    garbage: bool = False
    """Send a 200 with a body that is not JSON."""
    delay: float | None = None
    """Latency for this reply (default: the server's latency)."""
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass
class ScriptRequest:
    api: str  # "openai" | "anthropic"
    model: str
    messages: list[dict[str, str]]
    """System prompt first (as a 'system' message for both APIs), then the chat."""
    body: dict[str, Any]
    call: int
    """0-based number of this completion request on the server."""

    @property
    def prompt(self) -> str:
        return "\n".join(m["content"] for m in self.messages)


Script = Callable[[ScriptRequest], "str | Reply"]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


class ScriptedLLMServer:
    def __init__(
        self,
        script: Script | None = None,
        *,
        latency: float = 0.0,
        models: list[str] | None = None,
        api_key: str | None = None,
    ) -> None:
        self.script: Script = script or (lambda req: "ok")
        self.latency = latency
        self.models = models if models is not None else ["test-model"]
        self.api_key = api_key
        """If set, requests without this key get a 401."""
        self.list_models = True
        """False: GET /v1/models answers 404, like servers without a model list."""
        self.requests: list[Recorded] = []
        self.completions = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        """TCP connections accepted so far (a client's pool reuses them)."""
        self._faults: list[Reply] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> ScriptedLLMServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=4096, limit=2**24)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            for task in list(self._tasks):
                task.cancel()
            loop.run_until_complete(asyncio.gather(*self._tasks, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name="scripted-llm-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.base}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.base  # the anthropic SDK appends /v1/messages itself

    # -- faults --------------------------------------------------------------------------

    def fail_next(self, status: int = 500, *, count: int = 1, retry_after: float | None = None) -> None:
        """The next ``count`` completion requests get this HTTP status."""
        self._push(Reply(status=status, retry_after=retry_after), count)

    def hang_next(self, count: int = 1) -> None:
        self._push(Reply(hang=True), count)

    def garbage_next(self, count: int = 1) -> None:
        self._push(Reply(garbage=True), count)

    def _push(self, reply: Reply, count: int) -> None:
        with self._lock:
            self._faults.extend([reply] * count)

    def completion_bodies(self) -> list[Any]:
        return [r.body for r in self.requests if r.method == "POST"]

    # -- HTTP ----------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                method, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                body = json.loads(raw) if raw else None
                status, extra, payload = await self._respond(method, urlsplit(target).path, headers, body)
                out = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(out)}", "Connection: keep-alive"]
                head.append("Content-Type: " + ("text/html" if extra.pop("_garbage", None) else "application/json"))
                head += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + out)
                await writer.drain()
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _respond(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict, Any]:
        self.requests.append(Recorded(method, path, headers, body))
        anthropic = path.startswith("/v1/messages") or "anthropic-version" in headers
        if self.api_key is not None:
            given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
            if given != self.api_key:
                return 401, {}, _error(401, "invalid api key", anthropic)
        if method == "GET" and path == "/v1/models" and self.list_models:
            data = [
                {
                    "id": m,
                    "object": "model",
                    "type": "model",
                    "created": 0,
                    "created_at": "2024-01-01T00:00:00Z",
                    "owned_by": "test",
                    "display_name": m,
                }
                for m in self.models
            ]
            return 200, {}, {"object": "list", "data": data, "has_more": False, "first_id": None, "last_id": None}
        if method == "GET" and path.startswith("/v1/models/"):
            model = path.removeprefix("/v1/models/")
            if model not in self.models:
                return 404, {}, _error(404, f"model {model} not found", anthropic)
            return (
                200,
                {},
                {
                    "id": model,
                    "type": "model",
                    "object": "model",
                    "created": 0,
                    "created_at": "2024-01-01T00:00:00Z",
                    "display_name": model,
                    "owned_by": "test",
                },
            )
        if method == "POST" and path in ("/v1/chat/completions", "/v1/messages"):
            return await self._complete("anthropic" if path == "/v1/messages" else "openai", body)
        return 404, {}, _error(404, f"no route {method} {path}", anthropic)

    async def _complete(self, api: str, body: dict) -> tuple[int, dict, Any]:
        with self._lock:
            call = self.completions
            self.completions += 1
            fault = self._faults.pop(0) if self._faults else None
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            messages = list(body.get("messages", []))
            if api == "anthropic" and body.get("system"):
                messages.insert(0, {"role": "system", "content": body["system"]})
            messages = [{"role": m["role"], "content": _text(m["content"])} for m in messages]
            reply = fault
            if reply is None:
                try:
                    out = self.script(ScriptRequest(api, body.get("model", ""), messages, body, call))
                except Exception as e:  # a broken script is the test's bug: say so, do not hang the client
                    log.exception("the scripted server's script failed")
                    return 500, {"x-should-retry": "false"}, _error(500, f"script failed: {e!r}", api == "anthropic")
                reply = out if isinstance(out, Reply) else Reply(text=out)
            await asyncio.sleep(self.latency if reply.delay is None else reply.delay)
            if reply.hang:
                await asyncio.sleep(3600)
            if reply.garbage:
                return 200, {"_garbage": True}, b"<html>502 Bad Gateway</html>"
            if reply.status != 200:
                extra = {} if reply.retry_after is None else {"retry-after": f"{reply.retry_after:g}"}
                return reply.status, extra, _error(reply.status, f"scripted status {reply.status}", api == "anthropic")
            n_in = (
                reply.input_tokens
                if reply.input_tokens is not None
                else sum(len(m["content"].split()) for m in messages)
            )
            n_out = reply.output_tokens if reply.output_tokens is not None else len(reply.text.split())
            if api == "openai":
                return 200, {}, _openai_body(body.get("model", ""), reply, n_in, n_out, call)
            return 200, {}, _anthropic_body(body.get("model", ""), reply, n_in, n_out, call)
        finally:
            with self._lock:
                self.in_flight -= 1


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def _error(status: int, message: str, anthropic: bool) -> dict:
    if anthropic:
        return {"type": "error", "error": {"type": "api_error", "message": message}}
    return {"error": {"message": message, "type": "server_error", "code": status}}


def _openai_body(model: str, reply: Reply, n_in: int, n_out: int, call: int) -> dict:
    return {
        "id": f"chatcmpl-{call}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": reply.finish_reason, "message": {"role": "assistant", "content": reply.text}}
        ],
        "usage": {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out},
    }


def _anthropic_body(model: str, reply: Reply, n_in: int, n_out: int, call: int) -> dict:
    return {
        "id": f"msg_{call}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": "max_tokens" if reply.finish_reason == "length" else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": n_in, "output_tokens": n_out},
    }
