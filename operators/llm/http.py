"""HTTP connection pools shared by every model client that calls one API endpoint.

The HTTP pool under the SDKs (httpcore) looks at every idle connection it holds, and
probes its socket, each time a request starts or ends: with the SDK's default pool (up
to 1000 connections, 100 kept alive) that scan is a large share of the engine's CPU at a
concurrency in the hundreds, and beyond 100 calls in flight connections are closed and
reopened all the time. So the clients of one endpoint share one group of pools, sized to
the operator's concurrency: ``ceil(concurrency / SHARD)`` pools of at most ``SHARD``
connections, all kept alive, used in turn. Every call in flight has a connection, and a
request scans at most ``SHARD`` of them. The group belongs to the event loop that made it
(connections cannot cross loops) and closes with its last user.

The SDKs also draw a ``uuid4`` per request for an idempotency header neither API sends;
``CountingKeys`` makes that a counter.
"""

from __future__ import annotations

import asyncio
import itertools
import math
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


SHARD = 16
"""Connections per pool: what one request scans at most."""


class _Shared:
    def __init__(self, clients: list[Any]) -> None:
        self.clients = clients
        self.users = 0


def origin(url: str) -> str:
    """scheme://host:port of an API address: what one connection pool can serve."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def shared_clients(sdk: Any, url: str, concurrency: int) -> list[Any]:
    """The event loop's pools for ``url``'s endpoint, for the SDK module ``sdk`` (openai or
    anthropic: each brings its own httpx defaults), enough for ``concurrency`` calls at
    once. Use them in turn; pair every call with ``release``."""
    key = (id(asyncio.get_running_loop()), sdk.__name__, origin(url))
    shared = _POOLS.get(key)
    if shared is None or any(c.is_closed for c in shared.clients):
        n = max(1, concurrency) + 2  # and the start-up probes
        pools = math.ceil(n / SHARD)
        size = math.ceil(n / pools)
        limits = type(sdk.DEFAULT_CONNECTION_LIMITS)(
            max_connections=size, max_keepalive_connections=size, keepalive_expiry=30.0
        )
        shared = _POOLS[key] = _Shared([sdk.DefaultAsyncHttpxClient(limits=limits) for _ in range(pools)])
    shared.users += 1
    return shared.clients


async def release(clients: list[Any]) -> None:
    """One user of ``clients`` is done; the last one closes them."""
    for key, shared in list(_POOLS.items()):
        if shared.clients is clients:
            shared.users -= 1
            if shared.users <= 0:
                del _POOLS[key]
                for client in clients:
                    await client.aclose()
            return
    for client in clients:  # not shared (made before this loop's group): close them alone
        await client.aclose()
