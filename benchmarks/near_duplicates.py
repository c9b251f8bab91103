"""How similar (code embeddings) are a child and its parent when they behave differently?

    python -m benchmarks.near_duplicates [--budget 150] [--seed 3]

Runs an offline GP campaign on bin packing (case set or3_small), then, for every stored
child whose parent is stored too, compares the two programs' embeddings (the default
near-duplicate model, all-MiniLM-L6-v2) and their behaviour (the objective: % excess bins,
recomputed by the trusted scorer). Prints JSON: for each similarity threshold, how many
child/parent pairs reach it, and how many of those behave differently, i.e. how many
real variants a near-duplicate filter at that threshold would have thrown away without
evaluating them. The default threshold (``archive.policies.embeddings.DEFAULT_THRESHOLD``)
is the lowest one at which none did, in this measurement.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

import evolve
from evolve.archive.policies.embeddings import DEFAULT_MODEL, load_encoder

THRESHOLDS = (0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 1.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        campaign = evolve.create_campaign(
            "bin_packing",
            storage=f"sqlite:///{tmp}/nd.db",
            case_set="or3_small",
            budget=args.budget,
            seed=args.seed,
            islands=2,
            sandbox="process",
            progress=False,
        )
        campaign.run()
        programs = {p.id: p for p in campaign.archive.programs(campaign.info.id) if p.status == "ok"}
    pairs = [
        (child, programs[child.parent_ids[0]])
        for child in programs.values()
        if child.parent_ids
        and child.parent_ids[0] in programs
        and child.code_hash != programs[child.parent_ids[0]].code_hash
    ]
    encode = load_encoder(DEFAULT_MODEL)
    a = encode([c.code for c, _ in pairs])
    b = encode([p.code for _, p in pairs])
    sims = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    differs = np.array([abs(c.objective - p.objective) > 1e-12 for c, p in pairs])
    rows = []
    for t in THRESHOLDS:
        above = sims >= t
        rows.append(
            {
                "threshold": t,
                "pairs_at_or_above": int(above.sum()),
                "behave_differently": int((above & differs).sum()),
                "behave_alike": int((above & ~differs).sum()),
            }
        )
    safe = [r["threshold"] for r in rows if r["behave_differently"] == 0]
    print(
        json.dumps(
            {
                "pairs": len(pairs),
                "pairs_behaving_differently": int(differs.sum()),
                "similarity_of_differently_behaving": {
                    "max": float(sims[differs].max()) if differs.any() else None,
                    "p50": float(np.median(sims[differs])) if differs.any() else None,
                },
                "thresholds": rows,
                "lowest_threshold_rejecting_no_real_variant": min(safe) if safe else None,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
