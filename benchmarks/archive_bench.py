"""Archive throughput and sampling latency at 10k, 100k and 1M programs.

    python -m benchmarks.archive_bench                       # SQLite and PostgreSQL
    python -m benchmarks.archive_bench --backends sqlite --sizes 10000 100000
    python -m benchmarks.archive_bench --pg-url postgresql://user@host/db

Each backend starts empty and is filled in steps with ``add_programs_bulk`` (programs
spread over islands, ~300 bytes of code, metrics, a parent each, 90 % ok). At each
size it measures ``add_program`` one call at a time (a child with a parent, metrics
and one LLM call: what the campaign loop does), ``sample_parents`` for every strategy
(k = 2, half of the calls with a ``max_born_at``), ``find_by_hash`` and ``best``,
and prints one JSON document. Without ``--pg-url`` (or EVOLVE_TEST_POSTGRES_URL) a
throwaway PostgreSQL cluster is started like the tests do (fsync off).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time

from evolve.archive import SELECTION_POLICIES, Archive, code_hash
from evolve.archive.new_program import NewProgram
from evolve.operators.base import LLMCall

CODE = '''def priority(item, bins):
    """Score each bin for the item; the highest score wins."""
    import numpy as np
    gaps = bins - item
    score = -gaps * {a:.6f} + np.log1p(np.maximum(gaps, 0)) * {b:.6f}
    return np.where(gaps >= 0, score, -1e9)  # variant {i}
'''


def synthetic(i: int, seq: int, rng: random.Random, islands: int, n_before: int) -> NewProgram:
    ok = rng.random() < 0.9
    fit = rng.gauss(0.0, 1.0) if ok else None
    code = CODE.format(a=rng.random(), b=rng.random(), i=i)
    # Prefill skips the ast normalisation (a hash of the raw text is as unique here).
    return NewProgram(
        code=code,
        code_hash=hashlib.sha256(code.encode()).hexdigest(),
        island=i % islands,
        status="ok" if ok else "error",
        fitness=fit,
        objective=fit,
        seq=seq,
        born_at=i,
        parent_ids=[rng.randrange(1, n_before + 1)] if n_before else [],
        metrics={"score": fit or 0.0, "bins": 200.0 + rng.random()},
        operator="llm.diff",
        generation=rng.randrange(50),
        reason=None if ok else "Traceback: boom",
    )


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def ms(values: list[float]) -> dict:
    return {
        "p50_ms": round(pct(values, 0.5) * 1e3, 3),
        "p95_ms": round(pct(values, 0.95) * 1e3, 3),
        "mean_ms": round(statistics.fmean(values) * 1e3, 3),
    }


def measure(arc: Archive, cid: int, size: int, islands: int, adds: int, samples: int, rng: random.Random) -> dict:
    out: dict = {"programs": size}
    # One add at a time, like the loop: child of a random program, metrics, one LLM call.
    times = []
    cpu0 = time.process_time()
    t_all = time.perf_counter()
    for j in range(adds):
        seq = size + j  # also its born_at: the newest programs are the least visible
        call = LLMCall(
            model="bench",
            prompt=[{"role": "user", "content": "improve"}],
            response="```diff```",
            input_tokens=1200,
            output_tokens=300,
            cost=0.001,
            latency=1.0,
        )
        fit = rng.gauss(0.0, 1.0)
        t = time.perf_counter()
        arc.add_program(
            cid,
            NewProgram(
                code=CODE.format(a=rng.random(), b=rng.random(), i=seq),
                island=seq % islands,
                status="ok",
                fitness=fit,
                objective=fit,
                seq=seq,
                born_at=seq,
                parent_ids=[rng.randrange(1, size + 1)],
                metrics={"score": fit},
                llm_calls=[call],
            ),
        )
        times.append(time.perf_counter() - t)
    wall = time.perf_counter() - t_all
    # CPU of this process per add: on SQLite all of the work, on PostgreSQL the client side;
    # unlike wall time it does not grow when other processes compete for the CPU.
    cpu = (time.process_time() - cpu0) / adds
    out["add_program"] = {"n": adds, "per_s": round(adds / wall, 1), **ms(times), "cpu_ms": round(cpu * 1e3, 3)}
    total = size + adds
    for strategy in (n for n in SELECTION_POLICIES.names() if n != "map_elites"):  # map_elites needs a campaign
        lat = []
        for j in range(samples):
            island = j % islands
            horizon = total - 1000 if j % 2 else None  # half the calls hide the newest programs
            t = time.perf_counter()
            picks = arc.sample_parents(cid, island, 2, strategy, rng, max_born_at=horizon)
            lat.append(time.perf_counter() - t)
            assert len(picks) == 2
        out[f"sample_{strategy}"] = ms(lat)
    hashes = [code_hash(CODE.format(a=rng.random(), b=rng.random(), i=i)) for i in range(samples)]
    lat = []
    for h in hashes:
        t = time.perf_counter()
        arc.find_by_hash(cid, h)
        lat.append(time.perf_counter() - t)
    out["find_by_hash"] = ms(lat)
    lat = []
    for j in range(min(samples, 200)):
        t = time.perf_counter()
        arc.best(cid, k=5, island=j % islands)
        lat.append(time.perf_counter() - t)
    out["best_per_island"] = ms(lat)
    t = time.perf_counter()
    arc.count(cid, "ok")
    out["count_ok_ms"] = round((time.perf_counter() - t) * 1e3, 2)
    return out


def run_backend(name: str, url: str, sizes: list[int], islands: int, adds: int, samples: int) -> dict:
    rng = random.Random(0)
    arc = Archive(url)
    cid = arc.create_campaign(f"bench-{time.time_ns()}", "bench", {}).id
    have, results = 0, []
    # Seqs of the measured adds must not collide with later bulk rows.
    offset = 10 * max(sizes)
    for size in sizes:
        t = time.perf_counter()
        rows = (synthetic(i, offset + i, rng, islands, i) for i in range(have, size))
        added = arc.add_programs_bulk(cid, rows)
        fill_s = time.perf_counter() - t
        have = size
        res = measure(arc, cid, size, islands, adds, samples, rng)
        res["bulk_fill"] = {"rows": added, "seconds": round(fill_s, 1), "rows_per_s": round(added / max(fill_s, 1e-9))}
        have += adds
        results.append(res)
        print(json.dumps({"backend": name, **res}), file=sys.stderr, flush=True)
        offset += adds
    arc.close()
    return {"backend": name, "results": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--islands", type=int, default=4)
    ap.add_argument("--adds", type=int, default=2000, help="add_program calls timed at each size")
    ap.add_argument("--samples", type=int, default=400, help="calls timed per sampling strategy")
    ap.add_argument("--pg-url", default=os.environ.get("EVOLVE_TEST_POSTGRES_URL"))
    ap.add_argument("--dir", default=None, help="where the SQLite file goes (default: a temp dir)")
    args = ap.parse_args()
    sizes = sorted(args.sizes)
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_at_start": os.getloadavg(),
        },
        "islands": args.islands,
        "backends": [],
    }
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for backend in args.backends:
            server = None
            if backend == "sqlite":
                url = f"sqlite:///{tmp}/bench.db"
            elif args.pg_url:
                url = args.pg_url
            else:
                from tests import pg_server

                server = pg_server.start()
                url = server.url
            try:
                report["backends"].append(run_backend(backend, url, sizes, args.islands, args.adds, args.samples))
            finally:
                if server:
                    server.stop()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
