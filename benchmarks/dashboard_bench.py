"""Dashboard response times on a 100,000-program archive, SQLite and PostgreSQL.

    python -m benchmarks.dashboard_bench                      # both backends, 100k programs
    python -m benchmarks.dashboard_bench --backends sqlite --programs 20000
    python -m benchmarks.dashboard_bench --pg-url postgresql://user@host/db

Each backend gets a fresh archive filled with ``add_programs_bulk``: programs spread
over islands, a parent each among the recent ones (10 % crossovers with two), 85 % ok
with scores that improve over time, failures, duplicates and rejects, and recorded LLM
calls on the best programs. The real server (uvicorn) answers over HTTP on 127.0.0.1.

Measured, per backend:

- ``cold``: the first call of each view (progress reads every program once);
- ``live``: p50/p95 of progress and lineage while the campaign grows: one new program
  is stored before every call, so nothing is answered from memo (what a browser
  following a running campaign costs);
- ``program``: p50/p95 of program pages (code, diffs, LLM calls, children) at random;
- ``summary``: the one-second live poll;
- ``lineage_tti``: headless chromium (Debian's, via Playwright) from navigation start
  to the lineage graph drawn and interactive (top-10 ancestry, up to 1,000 nodes).

Prints one JSON document. Aim: p95 < 300 ms for every API call, lineage interactive < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time

import httpx

from evolve.archive import Archive, NewProgram
from evolve.archive.views import ArchiveReader
from evolve.dashboard.data import Dashboard
from evolve.dashboard.server import build_app
from evolve.operators.base import LLMCall

CODE = '''def priority(item, bins):
    """Score each bin for the item; the highest score wins."""
    import numpy as np
    gaps = bins - item
    score = -gaps * {a:.6f} + np.log1p(np.maximum(gaps, 0)) * {b:.6f}
    return np.where(gaps >= 0, score, -1e9)  # variant {i}
'''
STATUSES = ["ok"] * 85 + ["error"] * 6 + ["timeout"] * 2 + ["invalid"] * 2 + ["duplicate"] * 3 + ["rejected"] * 2
OPERATORS = ["llm.diff", "llm.rewrite", "llm.crossover.e1", "gp.mutate"]
MODELS = ["openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5", None]


def synthetic(i: int, rng: random.Random, islands: int) -> NewProgram:
    status = rng.choice(STATUSES)
    ok = status == "ok"
    fit = -50.0 + 45.0 * (1 - 1 / (1 + i / 5000)) + rng.gauss(0, 2.0) if ok else None
    code = CODE.format(a=rng.random(), b=rng.random(), i=i)
    parents = [] if i == 0 else [rng.randrange(max(1, i - 400), i + 1)]
    if i > 10 and rng.random() < 0.1:
        parents.append(rng.randrange(max(1, i - 400), i + 1))
    op = "llm.crossover.e1" if len(parents) == 2 else rng.choice(OPERATORS)
    return NewProgram(
        code=code,
        island=i % islands,
        status=status,
        fitness=fit,
        objective=None if fit is None else -fit,
        seq=None if i == 0 else i,
        born_at=i,
        parent_ids=parents,  # ids are 1-based in a fresh archive: row i has id i + 1
        metrics={"excess": -fit} if ok else {},
        operator="seed" if i == 0 else op,
        model=None if op == "gp.mutate" else rng.choice(MODELS[:2]),
        generation=i // (8 * islands),
        reason=None if ok else f"{status}: Traceback (most recent call last): ...",
        stdout="packing 5000 items\n" * 3,
        cost=0.0 if op == "gp.mutate" else 0.0004,
        input_tokens=0 if op == "gp.mutate" else 1800,
        output_tokens=0 if op == "gp.mutate" else 350,
    )


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def ms(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": round(pct(values, 0.5) * 1e3, 1),
        "p95_ms": round(pct(values, 0.95) * 1e3, 1),
        "max_ms": round(max(values) * 1e3, 1),
        "mean_ms": round(statistics.fmean(values) * 1e3, 1),
    }


class Server:
    def __init__(self, url: str):
        import socket

        import uvicorn

        self.reader = ArchiveReader(url)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            build_app(Dashboard(self.reader)), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.reader.close()


def fill(url: str, programs: int, islands: int) -> tuple[int, float]:
    rng = random.Random(0)
    with Archive(url) as arc:
        cid = arc.create_campaign("bench", "bin_packing", {"islands": islands, "budget": programs}).id
        t = time.perf_counter()
        arc.add_programs_bulk(cid, (synthetic(i, rng, islands) for i in range(programs)))
        seconds = time.perf_counter() - t
        for pid in [p.id for p in arc.best(cid, 20)]:
            prompt = [{"role": "system", "content": "You improve heuristics."}, {"role": "user", "content": CODE * 8}]
            call = LLMCall(
                "openai:gpt-4o-mini", prompt, "THOUGHT: tweak.\n" + CODE, input_tokens=1800, output_tokens=350
            )
            arc.add_llm_calls(cid, [call], program_id=pid)
    return cid, seconds


def grow(url: str, cid: int, n: int, start: int, islands: int):
    """Yield after storing each of ``n`` new programs (the campaign keeps running)."""
    rng = random.Random(start)
    with Archive(url) as arc:
        for i in range(start, start + n):
            arc.add_program(cid, synthetic(i, rng, islands).with_changes(seq=i, stdout=None))
            yield


def timed(client: httpx.Client, path: str) -> float:
    t = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - t
    response.raise_for_status()
    return elapsed


def lineage_tti(base: str, cid: int, runs: int) -> dict:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    chromium = os.environ.get("EVOLVE_TEST_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        return {"skipped": f"no chromium at {chromium}"}
    times, nodes = [], 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/#/c/{cid}/lineage")
            page.wait_for_function("() => window.EV && EV.lineageReadyAt", timeout=60_000)
            times.append(page.evaluate("EV.lineageReadyAt") / 1e3)
            nodes = page.evaluate("EV.cy.nodes().length")
            page.close()
        browser.close()
    return {**ms(times), "nodes": nodes}


def run_backend(name: str, url: str, args) -> dict:
    t0 = time.perf_counter()
    cid, fill_s = fill(url, args.programs, args.islands)
    out: dict = {"backend": name, "programs": args.programs, "bulk_fill_s": round(fill_s, 1)}
    with Server(url) as server, httpx.Client(base_url=server.base, timeout=120) as client:
        c = f"/api/c/{cid}"
        out["cold_ms"] = {
            view: round(timed(client, f"{c}/{view}") * 1e3, 1) for view in ("progress", "lineage", "operators")
        }
        live: dict[str, list[float]] = {"progress": [], "lineage": []}
        growing = grow(url, cid, 2 * args.calls, args.programs, args.islands)
        for _ in range(args.calls):
            for view in live:
                next(growing)
                live[view].append(timed(client, f"{c}/{view}"))
        out["live"] = {view: ms(v) for view, v in live.items()}
        ids = list(range(1, args.programs + 1))
        rng = random.Random(1)
        best = [p["id"] for p in client.get(f"{c}/top?k=20").json()]
        pages = [rng.choice(ids) for _ in range(args.calls)] + best
        out["program"] = ms([timed(client, f"/api/p/{pid}") for pid in pages])
        out["summary"] = ms([timed(client, f"{c}/summary") for _ in range(args.calls)])
        out["lineage_tti"] = lineage_tti(server.base, cid, args.tti_runs)
    out["total_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    ap.add_argument("--programs", type=int, default=100_000)
    ap.add_argument("--islands", type=int, default=8)
    ap.add_argument("--calls", type=int, default=40, help="timed calls per view")
    ap.add_argument("--tti-runs", type=int, default=5)
    ap.add_argument("--pg-url", default=os.environ.get("EVOLVE_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    report: dict = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()},
        "backends": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            if backend == "sqlite":
                report["backends"].append(run_backend(backend, f"sqlite:///{tmp}/bench.db", args))
                continue
            from tests import pg_server

            server = None if args.pg_url else pg_server.start()
            base = args.pg_url or server.url
            url, schema = pg_server.fresh_schema(base)
            try:
                report["backends"].append(run_backend(backend, url, args))
            finally:
                pg_server.drop_schema(base, schema)
                if server:
                    server.stop()
    report["machine"]["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
