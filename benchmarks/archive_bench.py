"""Archive throughput and sampling latency at 10k, 100k and 1M programs.

    python -m benchmarks.archive_bench --scale 1000000 --backend sqlite
    python -m benchmarks.archive_bench --scale 1000000 --backend postgres --pg-url postgresql://user@host/db
    python -m benchmarks.archive_bench --scale 2000 --adds 50 --samples 20      # a smoke run, both backends

For each size (10 k, 100 k, ... up to ``--scale``; or ``--sizes``) a fresh campaign is
loaded through the bulk import path (``evolve db import``'s format, synthetic programs from
``benchmarks.archive_synthetic``), then it measures: ``add_program`` one call at a time (a
child with a parent, metrics and one LLM call: what the campaign loop does) and
``add_programs`` in batches (group commit); ``sample_parents`` for every strategy (k = 2,
half of the calls with a ``max_born_at`` that hides the newest 1000 programs), the first
call per island apart (``cold_ms``, the slowest: in-process indexes built from the stored
rows, as after a resume), and the recall at k = 10 of island 0's novelty graph against an
exact scan; the near-duplicate lookup over stored code embeddings (synthetic vectors,
``--embed-dim``); ``find_by_hash``, ``best``; the export of the campaign; and the
database size per program. One JSON document on stdout (progress on stderr).

PostgreSQL: ``--pg-url`` (or EVOLVE_TEST_POSTGRES_URL) with a fresh schema dropped
afterwards; without either a throwaway cluster is started like the tests do (fsync off).
The server's durability settings are part of the output.
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
import time
from pathlib import Path

import numpy as np

from benchmarks.archive_synthetic import campaign_records, code_of
from evolve.archive import SELECTION_POLICIES, Archive, NewProgram, code_hash
from evolve.archive.policies.embeddings import EmbeddingDeduper
from evolve.archive.policies.novelty_index import IslandNovelty
from evolve.archive.policies.state import policy_state
from evolve.archive.transfer import export_records, import_records, write_records
from evolve.operators.base import LLMCall


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def ms(values: list[float]) -> dict:
    return {
        "p50_ms": round(pct(values, 0.5) * 1e3, 3),
        "p95_ms": round(pct(values, 0.95) * 1e3, 3),
        "mean_ms": round(statistics.fmean(values) * 1e3, 3),
    }


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _child(seq: int, size: int, islands: int, rng: random.Random) -> NewProgram:
    fit = rng.gauss(0.0, 1.0)
    call = LLMCall(
        model="bench",
        prompt=[{"role": "user", "content": "improve"}],
        response="```diff```",
        input_tokens=1200,
        output_tokens=300,
        cost=0.001,
        latency=1.0,
    )
    code = code_of(seq, rng.random(), rng.random())
    return NewProgram(
        code=code,
        code_hash=code_hash(code),  # the loop hashes every child for dedup before storing it
        island=seq % islands,
        status="ok",
        fitness=fit,
        objective=fit,
        seq=seq,
        born_at=seq,
        parent_ids=[rng.randrange(1, size + 1)],
        metrics={f"case:{c}": float(round(fit * 2)) for c in range(5)},
        descriptor={f"b{d}": rng.gauss(0, 5) for d in range(4)},
        llm_calls=[call],
    )


def measure_adds(arc: Archive, cid: int, size: int, islands: int, adds: int, batch: int, rng) -> dict:
    out = {}
    times, cpu0, t_all = [], time.process_time(), time.perf_counter()
    for j in range(adds):
        kw = _child(size + j, size, islands, rng)
        times.append(_timed(lambda p=kw: arc.add_program(cid, p)))
    wall = time.perf_counter() - t_all
    cpu = (time.process_time() - cpu0) / adds  # this process only: the client side on PostgreSQL
    out["add_program"] = {"n": adds, "per_s": round(adds / wall, 1), **ms(times), "cpu_ms": round(cpu * 1e3, 3)}
    start, times, t_all = size + adds, [], time.perf_counter()
    for lo in range(0, adds, batch):
        programs = [_child(start + j, size, islands, rng) for j in range(lo, min(adds, lo + batch))]
        times.append(_timed(lambda p=programs: arc.add_programs(cid, p)))
    wall = time.perf_counter() - t_all
    out["add_programs_batched"] = {"n": adds, "batch": batch, "per_s": round(adds / wall, 1), **ms(times)}
    return out


def measure_sampling(arc: Archive, cid: int, total: int, islands: int, samples: int, rng) -> dict:
    out = {}
    for strategy in (n for n in SELECTION_POLICIES.names() if n != "map_elites"):  # map_elites needs a campaign
        # The first call per island builds its in-process structures from the stored rows.
        cold = max(_timed(lambda s=strategy, i=i: arc.sample_parents(cid, i, 2, s, rng)) for i in range(islands))
        lat = []
        for j in range(samples):
            horizon = total - 1000 if j % 2 else None  # half the calls hide the newest programs
            t = time.perf_counter()
            picks = arc.sample_parents(cid, j % islands, 2, strategy, rng, max_born_at=horizon)
            lat.append(time.perf_counter() - t)
            assert len(picks) == 2, (strategy, len(picks))
        out[f"sample_{strategy}"] = {**ms(lat), "cold_ms": round(cold * 1e3, 1)}
    novelty = policy_state(arc, ("novelty", cid, 0, None), IslandNovelty)
    out["novelty_index"] = {"rows_in_graph": novelty.indexed, "recall_at_10": round(novelty.recall(10), 4)}
    return out


def load_embeddings(arc: Archive, cid: int, dim: int, seed: int) -> tuple[np.ndarray, list[int], float]:
    """A unit vector per ok program (clustered, like embeddings of program variants)."""
    ids = [p.id for p in arc.programs(cid, status="ok", order="id")]
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (2000, dim))
    vecs = (centres[rng.integers(0, 2000, len(ids))] + rng.normal(0, 0.3, (len(ids), dim))).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    t = time.perf_counter()
    for lo in range(0, len(ids), 5000):
        arc.add_embeddings(
            cid, "bench", ((pid, dim, vecs[i].tobytes()) for i, pid in enumerate(ids[lo : lo + 5000], lo))
        )
    return vecs, ids, time.perf_counter() - t


def measure_near_duplicates(arc: Archive, cid: int, dim: int, samples: int, seed: int) -> dict:
    vecs, ids, load_s = load_embeddings(arc, cid, dim, seed)
    dedup = EmbeddingDeduper(arc.campaign_store(cid), threshold=0.98, model="bench", encoder=lambda texts: None)
    rng = np.random.default_rng(seed + 1)
    cold = _timed(lambda: dedup.check("", vector=vecs[0]))
    lat, hits = [], 0
    for j in range(samples):
        i = int(rng.integers(len(ids)))
        near = vecs[i] + rng.normal(0, 0.002, dim).astype(np.float32) if j % 2 == 0 else rng.normal(0, 1, dim)
        near = (near / np.linalg.norm(near)).astype(np.float32)
        t = time.perf_counter()
        hit = dedup.check("", vector=near)
        lat.append(time.perf_counter() - t)
        hits += j % 2 == 0 and hit is not None and hit.program_id == ids[i]
    return {
        "near_duplicate_lookup": {
            **ms(lat),
            "cold_ms": round(cold * 1e3, 1),
            "dim": dim,
            "vectors": len(ids),
            "load_s": round(load_s, 1),
            "found_planted": round(hits / max(1, (samples + 1) // 2), 3),
        }
    }


def run_backend(name: str, url: str, sqlite_path: Path | None, sizes: list[int], args) -> dict:
    rng = random.Random(0)
    arc = Archive(url)
    results, stored = [], 0
    settings = arc.server_settings(("fsync", "synchronous_commit", "shared_buffers", "server_version"))
    for size in sizes:
        res: dict = {"programs": size}
        cname = f"bench-{size}"
        t = time.perf_counter()
        cid = import_records(arc, campaign_records(cname, size, args.islands, seed=size))
        fill = time.perf_counter() - t
        res["bulk_import"] = {"rows": size, "seconds": round(fill, 1), "rows_per_s": round(size / max(fill, 1e-9))}
        stored += size
        res["db_bytes_per_program"] = round(arc.storage_bytes() / stored)
        res.update(measure_adds(arc, cid, size, args.islands, args.adds, args.batch, rng))
        stored += 2 * args.adds
        res.update(measure_sampling(arc, cid, size + 2 * args.adds, args.islands, args.samples, rng))
        res.update(measure_near_duplicates(arc, cid, args.embed_dim, args.samples, seed=size))
        hashes = [code_hash(code_of(i, rng.random(), rng.random())) for i in range(args.samples)]
        res["find_by_hash"] = ms([_timed(lambda h=h, c=cid: arc.find_by_hash(c, h)) for h in hashes])
        res["best_per_island"] = ms(
            [
                _timed(lambda j=j, c=cid: arc.best(c, k=5, island=j % args.islands))
                for j in range(min(args.samples, 200))
            ]
        )
        if args.export:
            with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                t = time.perf_counter()
                n = write_records(Path(tmp) / "c.jsonl.gz", export_records(arc, cname))
                secs = time.perf_counter() - t
            res["export_jsonl_gz"] = {"records": n, "seconds": round(secs, 1), "records_per_s": round(n / secs)}
        results.append(res)
        print(json.dumps({"backend": name, **res}), file=sys.stderr, flush=True)
    arc.close()
    return {"backend": name, "server": settings, "results": results}


def _sizes(scale: int) -> list[int]:
    sizes = [s for s in (10_000, 100_000, 1_000_000, 10_000_000) if s < scale]
    return [*sizes, scale]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=1_000_000, help="largest size (sizes: 10k, 100k, ... up to it)")
    ap.add_argument("--sizes", nargs="+", type=int, help="exact sizes instead of --scale's")
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"], help="repeatable (default both)")
    ap.add_argument("--islands", type=int, default=4)
    ap.add_argument("--adds", type=int, default=2000, help="programs added singly, and again in batches, per size")
    ap.add_argument("--batch", type=int, default=64, help="programs per add_programs call")
    ap.add_argument("--samples", type=int, default=400, help="calls timed per sampling strategy and lookup")
    ap.add_argument("--embed-dim", type=int, default=64, help="dimension of the synthetic code embeddings")
    ap.add_argument("--no-export", dest="export", action="store_false", help="skip timing the export")
    ap.add_argument("--pg-url", default=os.environ.get("EVOLVE_TEST_POSTGRES_URL"))
    ap.add_argument("--dir", default=None, help="where the SQLite file goes (default: a temp dir)")
    args = ap.parse_args()
    sizes = sorted(args.sizes or _sizes(args.scale))
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
        for backend in args.backend or ["sqlite", "postgres"]:
            report["backends"].append(_run_one(backend, Path(tmp), sizes, args))
    report["machine"]["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=1))


def _run_one(backend: str, tmp: Path, sizes: list[int], args) -> dict:
    if backend == "sqlite":
        path = tmp / "bench.db"
        return run_backend(backend, f"sqlite:///{path}", path, sizes, args)
    from tests import pg_server

    server = None
    if args.pg_url:
        base = args.pg_url
    else:
        server = pg_server.start()
        base = server.url
    url, schema = pg_server.fresh_schema(base)
    try:
        return run_backend(backend, url, None, sizes, args)
    finally:
        pg_server.drop_schema(base, schema)
        if server:
            server.stop()


if __name__ == "__main__":
    main()
