"""Cap sets in F_3^n, as in FunSearch (Romera-Paredes et al., 2023).

A cap set is a set of vectors of F_3^n with no three on a line (no distinct a, b, c with
a + b + c = 0 mod 3). The candidate evolves ``priority(el, n)``; the harness returns one
priority per vector and nothing else. The trusted scorer builds the cap set greedily from
those priorities on its own side (FunSearch's construction: highest priority first, a
vector joins unless it completes a line with two members), then checks every line of the
result independently before counting it. FunSearch found a cap set of size 512 in
dimension 8, beating the previous best of 496.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from evolve.problems.contract import InvalidOutput, Metrics, Problem

SUMMARY = "cap set (FunSearch): evolve priority(el, n) for a greedy cap set in F_3^8, maximise its size"
ANCHOR = "n=8: FunSearch 512 (Romera-Paredes et al. 2023, Nature); previous best 496"

_HERE = Path(__file__).resolve().parent
BEST_KNOWN = {3: 9, 4: 20, 5: 45, 6: 112, 7: 236, 8: 512}
"""Largest known cap sets (n <= 6 optimal; 7 and 8 from FunSearch)."""

DESCRIPTION = """\
Cap sets in F_3^n. A cap set is a set of vectors in {0, 1, 2}^n with no three distinct
vectors a, b, c on a line, i.e. with a + b + c = 0 (mod 3) coordinate-wise. The goal is a
cap set as large as possible in dimension n = 8.

You write `priority(el, n) -> float`: `el` is a vector as a tuple of n ints (each 0, 1
or 2) and n the dimension. It is called once for each of the 3^n vectors. The vectors
are then offered to a greedy builder from the highest priority down (ties in
lexicographic order): each joins the set unless it would complete a line with two
members already in it. Priorities must be finite numbers. `numpy` is imported as `np`.

Objective `size`, higher is better. The seed (all priorities equal, so lexicographic
order) gives 2^n = 256. The largest known cap set in dimension 8 has 512 vectors
(FunSearch); the best before it had 496. Good priorities exploit symmetry: e.g. weight
vectors by how many coordinates are 0, 1 and 2, or by structure of coordinate pairs.
"""


def vectors(n: int) -> np.ndarray:
    """Every vector of F_3^n in lexicographic order, as rows (row i is vector i)."""
    digits = np.arange(3**n)[:, None] // (3 ** np.arange(n - 1, -1, -1))[None, :]
    return (digits % 3).astype(np.int64)


def _index(rows: np.ndarray) -> np.ndarray:
    """The lexicographic index of each row vector."""
    n = rows.shape[-1]
    return rows @ (3 ** np.arange(n - 1, -1, -1))


def parse(output: Any, n: int) -> np.ndarray:
    """Trusted: the candidate's priorities as floats, or InvalidOutput saying what is wrong."""
    size = 3**n
    if not isinstance(output, list) or len(output) != size:
        got = len(output) if isinstance(output, list) else type(output).__name__
        raise InvalidOutput(f"expected {size} priorities (one per vector of F_3^{n}), got {got}")
    values = []
    for i, value in enumerate(output):
        # bool is an int subclass; JSON true is a bug, not a priority.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidOutput(f"priority of vector {i} is {value!r}, not a finite number")
        values.append(float(value))
    return np.array(values, dtype=float)


def greedy(priorities: np.ndarray, n: int) -> np.ndarray:
    """Trusted: FunSearch's greedy cap set, highest priority first, ties lexicographic.

    Returns the indices of the chosen vectors in the order they joined.
    """
    order = sorted(range(len(priorities)), key=lambda i: (-priorities[i], i))
    all_vectors = vectors(n)
    blocked = np.zeros(len(priorities), dtype=bool)
    members: list[int] = []
    for i in order:
        if blocked[i]:
            continue
        v = all_vectors[i]
        if members:
            # Each member u makes the third point of the line through u and v unavailable.
            third = (-(all_vectors[members] + v)) % 3
            blocked[_index(third)] = True
        blocked[i] = True
        members.append(i)
    return np.array(members, dtype=np.int64)


def verify(members: np.ndarray, n: int) -> None:
    """Trusted: check every line through two members, independently of how they were chosen."""
    if len(set(members.tolist())) != len(members):
        raise InvalidOutput("the set holds a vector twice")
    if len(members) and (members.min() < 0 or members.max() >= 3**n):
        raise InvalidOutput("the set holds an index outside F_3^n")
    rows = vectors(n)[members]
    inside = np.zeros(3**n, dtype=bool)
    inside[members] = True
    for a in range(len(rows) - 1):
        third = _index((-(rows[a + 1 :] + rows[a])) % 3)
        hit = np.nonzero(inside[third])[0]
        if len(hit):
            b = a + 1 + int(hit[0])
            raise InvalidOutput(
                f"vectors {rows[a].tolist()}, {rows[b].tolist()} and {vectors(n)[third[hit[0]]].tolist()} lie on a line"
            )


def score(outputs: list[Any], cases: list[dict[str, Any]]) -> Metrics:
    """Trusted: build each cap set from the priorities, verify it line by line, count it."""
    if len(outputs) != len(cases):
        raise InvalidOutput(f"expected one priority list per case ({len(cases)}), got {len(outputs)}")
    sizes, metrics = [], {}
    for out, case in zip(outputs, cases):
        n = case["n"]
        members = greedy(parse(out, n), n)
        verify(members, n)
        sizes.append(len(members))
        metrics[f"size_n{n}"] = float(len(members))
    metrics["size"] = sum(sizes) / len(sizes)
    metrics["best_known_fraction"] = sum(s / BEST_KNOWN.get(c["n"], s or 1) for s, c in zip(sizes, cases)) / len(sizes)
    return metrics


def feedback(metrics: Metrics, outputs: list[Any], cases: list[dict[str, Any]]) -> str:
    parts = []
    for case in cases:
        n = case["n"]
        parts.append(f"n={n}: cap set of size {metrics[f'size_n{n}']:.0f} (largest known {BEST_KNOWN.get(n, '?')})")
    return "; ".join(parts) + ". The seed (lexicographic order) gives 2^n."


def make_problem() -> Problem:
    n8, n7, n4 = [{"n": 8}], [{"n": 7}], [{"n": 4}]
    return Problem(
        name="cap_set",
        description=DESCRIPTION,
        initial_program=(_HERE / "initial_program.py").read_text(),
        harness=(_HERE / "harness.py").read_text(),
        cases=n8,
        score=score,
        objective="size",
        direction="max",
        entry_point="priority",
        time_limit=30.0,
        feedback=feedback,
        case_sets={"n8": n8, "n7": n7, "n4": n4},
        source="builtin:cap_set",
    )
