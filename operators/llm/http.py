"""One HTTP connection pool per API endpoint, shared by every model client that calls it.

The SDKs' own pool allows 1000 connections and keeps 100 alive: at a concurrency above
100 every call beyond them opens a connection and closes it after, and the pool scans
all its connections (probing the idle ones' sockets) on every request. So the clients of
one endpoint share one pool sized to the operator's concurrency: a connection for every
call in flight, all kept alive, nothing to scan beyond them. It belongs to the event
loop that made it (connections cannot cross loops) and closes with its last user.

The SDKs also draw a ``uuid4`` per request for an idempotency header neither API sends;
``CountingKeys`` makes that a counter.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any
from urllib.parse import urlsplit

_keys = itertools.count()
_POOLS: dict[tuple[int, str, str], _Shared] = {}


class CountingKeys:
    """Mixin for an SDK client: idempotency keys from a counter, not a uuid per request
    (unique in this process; a retry reuses its request's key, as before)."""

    def _idempotency_key(self) -> str:
        return f"evolve-{os.getpid()}-{next(_keys)}"


class _Shared:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.users = 0


def origin(url: str) -> str:
    """scheme://host:port of an API address: what one connection pool can serve."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def shared_client(sdk: Any, url: str, concurrency: int) -> Any:
    """The event loop's pool for ``url``'s endpoint, for the SDK module ``sdk`` (openai or
    anthropic: each brings its own httpx defaults), sized for ``concurrency`` calls at
    once. Pair every call with ``release``."""
    key = (id(asyncio.get_running_loop()), sdk.__name__, origin(url))
    shared = _POOLS.get(key)
    if shared is None or shared.client.is_closed:
        n = max(1, concurrency) + 2  # and the start-up probes
        limits = type(sdk.DEFAULT_CONNECTION_LIMITS)(
            max_connections=n, max_keepalive_connections=n, keepalive_expiry=30.0
        )
        shared = _POOLS[key] = _Shared(sdk.DefaultAsyncHttpxClient(limits=limits))
    shared.users += 1
    return shared.client


async def release(client: Any) -> None:
    """One user of ``client`` is done; the last one closes it."""
    for key, shared in list(_POOLS.items()):
        if shared.client is client:
            shared.users -= 1
            if shared.users <= 0:
                del _POOLS[key]
                await client.aclose()
            return
    await client.aclose()  # not shared (made before this loop's pool): close it alone
