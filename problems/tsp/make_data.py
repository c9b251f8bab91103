"""Regenerate the TSP instances and their optimal tours (``tsp_instances.json``).

    python -m evolve.problems.tsp.make_data [--out FILE]

Instances: cities drawn uniformly in the unit square by ``numpy.random.default_rng(SEED)``,
first the TSP50 set, then the TSP100 set (``COUNTS`` instances each), coordinates rounded
to 6 decimals (so the file holds them exactly). Distances are Euclidean.

Optimal tours are proven, not best-known: each instance is solved as an integer program
(one binary per edge, degree 2 at every city) with scipy's HiGHS MILP solver at a
relative gap of 0, adding a subtour-elimination cut for every disconnected component of
the solution until the solution is a single tour (Dantzig-Fulkerson-Johnson; the LP relaxation
is cut the same way first, to start the integer program from a tighter bound). A tour
from that loop is optimal for the Euclidean distances up to the solver's tolerances
(about 1e-9 relative).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

SEED = 20240613
COUNTS = {50: 64, 100: 32}
OUT = Path(__file__).resolve().with_name("tsp_instances.json")


def instances() -> dict[str, list[list[list[float]]]]:
    rng = np.random.default_rng(SEED)
    return {f"tsp{n}": [np.round(rng.random((n, 2)), 6).tolist() for _ in range(count)] for n, count in COUNTS.items()}


def tour_length(coords: list[list[float]], tour: list[int]) -> float:
    return math.fsum(math.dist(coords[tour[i - 1]], coords[tour[i]]) for i in range(len(tour)))


def solve(coords: list[list[float]]) -> list[int]:
    """An optimal tour by MILP with lazily added subtour-elimination cuts."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix

    n = len(coords)
    edges = [(i, j) for i in range(n) for j in range(i + 1, n)]
    cost = np.array([math.dist(coords[i], coords[j]) for i, j in edges])
    rows = [i for i, _ in edges] + [j for _, j in edges]
    cols = list(range(len(edges))) * 2
    degree = csr_matrix((np.ones(2 * len(edges)), (rows, cols)), shape=(n, len(edges)))
    cuts: list[np.ndarray] = []
    limits: list[int] = []

    def cut(component: list[int]) -> None:  # edges inside a component S: at most |S| - 1
        inside = set(component)
        cuts.append(np.array([1.0 if i in inside and j in inside else 0.0 for i, j in edges]))
        limits.append(len(component) - 1)

    def solve_with_cuts(integer: bool) -> np.ndarray:
        constraints = [LinearConstraint(degree, 2, 2)]
        if cuts:
            constraints.append(LinearConstraint(np.array(cuts), -np.inf, np.array(limits)))
        res = milp(
            cost,
            constraints=constraints,
            integrality=np.ones(len(edges)) if integer else np.zeros(len(edges)),
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": 0.0, "disp": False},
        )
        if not res.success:
            raise RuntimeError(f"MILP failed: {res.message}")
        return res.x

    # The LP relaxation first: cut every disconnected part of its support until it is
    # connected. The cuts are valid for every tour, so they only tighten the MILP below.
    for _ in range(200):
        x = solve_with_cuts(integer=False)
        components = _components(n, [edges[e] for e in np.nonzero(x > 1e-6)[0]])
        if len(components) == 1:
            break
        for comp in components:
            cut(comp)
    while True:
        x = solve_with_cuts(integer=True)
        chosen = [edges[e] for e in np.nonzero(x > 0.5)[0]]
        components = _components(n, chosen)
        if len(components) == 1:
            return _tour(n, chosen)
        for comp in components:
            cut(comp)


def _neighbours(n: int, chosen: list[tuple[int, int]]) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for i, j in chosen:
        out[i].append(j)
        out[j].append(i)
    return out


def _components(n: int, chosen: list[tuple[int, int]]) -> list[list[int]]:
    neighbours = _neighbours(n, chosen)
    seen, parts = [False] * n, []
    for start in range(n):
        if seen[start]:
            continue
        stack, part = [start], []
        seen[start] = True
        while stack:
            v = stack.pop()
            part.append(v)
            for w in neighbours[v]:
                if not seen[w]:
                    seen[w] = True
                    stack.append(w)
        parts.append(sorted(part))
    return parts


def _tour(n: int, chosen: list[tuple[int, int]]) -> list[int]:
    neighbours = _neighbours(n, chosen)
    tour, prev = [0], -1
    while len(tour) < n:
        here = tour[-1]
        a, b = neighbours[here]
        tour.append(a if a != prev else b)
        prev = here
    return tour


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate the TSP instances and their optimal tours.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data: dict = {
        "seed": SEED,
        "generator": "numpy.random.default_rng(seed).random((n, 2)) per instance, TSP50 set then TSP100 set",
        "method": "proven optimal: MILP (scipy HiGHS, relative gap 0) with subtour-elimination cuts",
        "sets": {},
    }
    cache_file = args.out.with_suffix(".partial.jsonl")
    cache = {}
    if cache_file.exists():  # resume an interrupted run: solved instances are kept
        for line in cache_file.read_text().splitlines():
            entry = json.loads(line)
            cache[(entry["set"], entry["index"])] = entry["tour"]
    for name, group in instances().items():
        rows = []
        for k, coords in enumerate(group):
            start = time.monotonic()
            tour = cache.get((name, k)) or solve(coords)
            if (name, k) not in cache:
                with cache_file.open("a") as f:
                    f.write(json.dumps({"set": name, "index": k, "tour": tour}) + "\n")
            rows.append({"coords": coords, "optimal_tour": tour, "optimal_length": tour_length(coords, tour)})
            print(f"{name}[{k}]: {rows[-1]['optimal_length']:.6f} in {time.monotonic() - start:.1f}s", flush=True)
        data["sets"][name] = rows
    args.out.write_text(json.dumps(data, separators=(",", ":")))
    cache_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
