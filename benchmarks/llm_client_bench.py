"""Engine CPU per LLM request: the SDK's default HTTP pool against the shared, sized one.

    python -m benchmarks.llm_client_bench [--concurrency 256] [--seconds 15] [--latency 0.5]

A scripted OpenAI-compatible server (tests/llm_servers.py) runs in its own process and
answers every request after ``--latency`` seconds. In this process, ``--concurrency``
callers keep one request each in flight through the real ``openai`` SDK, first with a
plain ``AsyncOpenAI`` (the SDK's own pool: up to 1000 connections, 100 kept alive), then
with Evolve's ``OpenAIClient`` (one pool per endpoint, sized to the concurrency, all kept
alive; no uuid per request). Prints JSON: requests per second, this process's CPU
milliseconds per request, and the connections the server accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time

MSGS = [{"role": "user", "content": "hi"}]


def _serve(port_out, latency: float, stop) -> None:
    from tests.llm_servers import ScriptedLLMServer

    with ScriptedLLMServer(latency=latency) as server:
        port_out.put(server.port)
        stop.wait()
        port_out.put(server.connections)


async def _drive(call, concurrency: int, seconds: float) -> int:
    done, end = 0, time.monotonic() + seconds

    async def caller() -> None:
        nonlocal done
        while time.monotonic() < end:
            await call()
            done += 1

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return done


def measure(kind: str, url: str, concurrency: int, seconds: float) -> dict:
    async def main() -> tuple[int, float, float]:
        if kind == "sdk_default":
            import openai

            sdk = openai.AsyncOpenAI(base_url=url, api_key="k", max_retries=0)

            async def call():
                await sdk.chat.completions.create(model="test-model", messages=MSGS, max_tokens=5)

            close = sdk.close
        else:
            from evolve.operators.llm import make_client

            client = make_client(f"openai-compat:test-model@{url}", concurrency=concurrency, max_retries=0)
            await client.start()

            async def call():
                await client.complete(MSGS, max_tokens=5, temperature=0.0)

            close = client.close
        await _drive(call, concurrency, 2.0)  # warm-up: connections open
        cpu, start = time.process_time(), time.perf_counter()
        n = await _drive(call, concurrency, seconds)
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
        await close()
        return n, elapsed, used

    n, elapsed, used = asyncio.run(main())
    return {"requests_per_s": round(n / elapsed, 1), "cpu_ms_per_request": round(1000 * used / n, 3), "requests": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--latency", type=float, default=0.5)
    args = parser.parse_args()
    report: dict = {
        "what": "engine CPU per request through the real openai SDK, C requests in flight",
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "cpus": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    for kind in ("sdk_default", "shared_pool"):
        ctx = multiprocessing.get_context("spawn")
        ports, stop = ctx.Queue(), ctx.Event()
        server = ctx.Process(target=_serve, args=(ports, args.latency, stop), daemon=True)
        server.start()
        url = f"http://127.0.0.1:{ports.get(timeout=30)}/v1"
        try:
            report[kind] = measure(kind, url, args.concurrency, args.seconds)
        finally:
            stop.set()
            report.setdefault(kind, {})["server_connections"] = ports.get(timeout=30)
            server.join(10)
    a, b = report["sdk_default"]["cpu_ms_per_request"], report["shared_pool"]["cpu_ms_per_request"]
    report["cpu_saved"] = round(1 - b / a, 3) if a else None
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
