"""Circle packing: n disjoint circles in the unit square, maximise the sum of radii.

The AlphaEvolve benchmark (Novikov et al., 2025): AlphaEvolve reported 2.6358628 for
n = 26 (best known about 2.635983) and 2.937 for n = 32 (built-in ``circle_packing_32``,
which reuses this verifier with its own seed). The verifier is exact: every coordinate
and radius is taken as the exact rational value of its float, and containment and
non-overlap are checked in rational arithmetic with zero tolerance. A packing whose
circles touch exactly is valid; one that overlaps by any amount, however small, is not,
and no floating-point rounding can make an overlap pass.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from evolve.problems.contract import InvalidOutput, Metrics, Problem

SUMMARY = "circle packing (AlphaEvolve): 26 circles in the unit square, maximise the sum of radii, exact verifier"
ANCHOR = "n=26: AlphaEvolve 2.6358628 (Novikov et al. 2025); best reported about 2.635983"

N = 26
ALPHAEVOLVE = 2.6358628
BEST_KNOWN = 2.635983
_HERE = Path(__file__).resolve().parent
_CONTACT = 1e-6
"""Distance under which two circles (or a circle and a wall) count as touching, for the
descriptors and feedback only; validity uses no tolerance at all."""

DESCRIPTION_TEMPLATE = """\
Circle packing in the unit square. Place {N} circles inside [0, 1] x [0, 1] with no two
overlapping, and maximise the sum of their radii.

You write `construct_packing() -> (centers, radii)`: `centers` is a ({N}, 2) array (or
list of [x, y]) of circle centres and `radii` a length-{N} array of non-negative radii.
`numpy` is imported as `np`; the standard library is available (and scipy if installed).
The function runs once, within the time limit; it may search or optimise, but must be
deterministic enough to reproduce its result.

Validity is checked EXACTLY, with zero tolerance, on the exact values of your floats:
every circle must satisfy r <= x, x + r <= 1, r <= y, y + r <= 1, and every pair
(r_i + r_j)^2 <= (x_i - x_j)^2 + (y_i - y_j)^2. Any violation makes the whole program
invalid, so after optimising, shrink radii by a tiny margin (e.g. 1e-12 relative) or
verify and repair the result yourself.

Objective `sum_radii`, higher is better. {anchors} Strong packings mix circle sizes: large
circles in a staggered (hexagonal-like) arrangement with smaller ones in the gaps and
along the walls.
"""
DESCRIPTION = DESCRIPTION_TEMPLATE.format(
    N=N,
    anchors=f"The seed (a 6 x 5 grid) scores about 2.17. AlphaEvolve reached {ALPHAEVOLVE}; the best known is about {BEST_KNOWN}.",
)


def _number(value: Any, what: str) -> float:
    # bool is an int subclass; a True radius is a bug, not a number.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOutput(f"{what} is {value!r}, not a number")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidOutput(f"{what} is {value}, not a finite number")
    return value


def parse(output: Any, n: int = N) -> tuple[list[tuple[float, float]], list[float]]:
    """Trusted: the centres and radii of an output, or InvalidOutput saying what is wrong."""
    if not isinstance(output, dict) or "centers" not in output or "radii" not in output:
        raise InvalidOutput("the harness must return {'centers': [[x, y], ...], 'radii': [...]}")
    centers, radii = output["centers"], output["radii"]
    if not isinstance(centers, list) or len(centers) != n:
        raise InvalidOutput(f"expected {n} centres, got {len(centers) if isinstance(centers, list) else centers!r}")
    if not isinstance(radii, list) or len(radii) != n:
        raise InvalidOutput(f"expected {n} radii, got {len(radii) if isinstance(radii, list) else radii!r}")
    points = []
    for i, c in enumerate(centers):
        if not isinstance(c, list) or len(c) != 2:
            raise InvalidOutput(f"centre of circle {i} is {c!r}, not a pair [x, y]")
        points.append((_number(c[0], f"x of circle {i}"), _number(c[1], f"y of circle {i}")))
    rs = [_number(r, f"radius of circle {i}") for i, r in enumerate(radii)]
    for i, r in enumerate(rs):
        if r < 0:
            raise InvalidOutput(f"circle {i} has a negative radius {r!r}")
    return points, rs


def verify(points: list[tuple[float, float]], radii: list[float]) -> None:
    """Trusted: raise InvalidOutput naming the first circle (or pair) that breaks the rules.

    Fractions hold each float's exact value, so the comparisons below are exact.
    """
    exact = [(Fraction(x), Fraction(y), Fraction(r)) for (x, y), r in zip(points, radii)]
    for i, (x, y, r) in enumerate(exact):
        if r > x or x + r > 1 or r > y or y + r > 1:
            px, py = points[i]
            raise InvalidOutput(
                f"circle {i} (centre ({px!r}, {py!r}), radius {radii[i]!r}) is not inside the unit square"
            )
    for i in range(len(exact)):
        xi, yi, ri = exact[i]
        for j in range(i + 1, len(exact)):
            xj, yj, rj = exact[j]
            if (ri + rj) ** 2 > (xi - xj) ** 2 + (yi - yj) ** 2:
                gap = radii[i] + radii[j] - math.dist(points[i], points[j])
                raise InvalidOutput(f"circles {i} and {j} overlap (radii sum exceeds centre distance by {gap:.3g})")


def score(outputs: list[Any], cases: list[dict[str, Any]]) -> Metrics:
    """Trusted: verify the packing exactly and return the sum of radii."""
    if len(outputs) != len(cases):
        raise InvalidOutput(f"expected one packing per case ({len(cases)}), got {len(outputs)}")
    sums, stats = [], []
    for out, case in zip(outputs, cases):
        points, radii = parse(out, case.get("n", N))
        verify(points, radii)
        sums.append(math.fsum(radii))
        stats.append(_shape_stats(points, radii))
    metrics: Metrics = {"sum_radii": sum(sums) / len(sums), "valid": 1.0}
    for key in stats[0]:
        metrics[key] = sum(s[key] for s in stats) / len(stats)
    return metrics


def _shape_stats(points: list[tuple[float, float]], radii: list[float]) -> dict[str, float]:
    mean = math.fsum(radii) / len(radii)
    spread = math.sqrt(math.fsum((r - mean) ** 2 for r in radii) / len(radii)) / mean if mean > 0 else 0.0
    walls = sum(1 for (x, y), r in zip(points, radii) if min(x - r, 1 - x - r, y - r, 1 - y - r) <= _CONTACT)
    contacts = sum(
        1
        for i in range(len(radii))
        for j in range(i + 1, len(radii))
        if math.dist(points[i], points[j]) - radii[i] - radii[j] <= _CONTACT
    )
    return {
        "min_radius": min(radii),
        "max_radius": max(radii),
        "radius_spread": spread,
        "wall_fraction": walls / len(radii),
        "contacts": float(contacts),
    }


def descriptors(metrics: Metrics, outputs: list[Any]) -> dict[str, float]:
    """Behaviour: how varied the sizes are, and how much the packing leans on the walls."""
    return {"radius_spread": metrics["radius_spread"], "wall_fraction": metrics["wall_fraction"]}


def feedback(metrics: Metrics, outputs: list[Any], cases: list[Any]) -> str:
    return _feedback(metrics, ALPHAEVOLVE, BEST_KNOWN)


def _feedback(metrics: Metrics, alphaevolve: float, best_known: float) -> str:
    return (
        f"Sum of radii {metrics['sum_radii']:.6f} (AlphaEvolve {alphaevolve}, best known {best_known}; "
        f"gap {best_known - metrics['sum_radii']:.6f}).\n"
        f"Radii from {metrics['min_radius']:.4f} to {metrics['max_radius']:.4f} "
        f"(coefficient of variation {metrics['radius_spread']:.2f}); "
        f"{100 * metrics['wall_fraction']:.0f}% of circles touch a wall and {metrics['contacts']:.0f} pairs "
        f"touch each other (within {_CONTACT:g}): more contacts usually means less wasted space."
    )


def packing_problem(
    name: str, n: int, initial_program: str, description: str, alphaevolve: float, best_known: float
) -> Problem:
    """A circle packing problem for ``n`` circles with this module's exact verifier."""
    return Problem(
        name=name,
        description=description,
        initial_program=initial_program,
        harness=(_HERE / "harness.py").read_text(),
        cases=[{"n": n}],
        score=score,
        objective="sum_radii",
        direction="max",
        entry_point="construct_packing",
        time_limit=30.0,
        descriptors=descriptors,
        feedback=lambda metrics, outputs, cases: _feedback(metrics, alphaevolve, best_known),
        source=f"builtin:{name}",
    )


def make_problem() -> Problem:
    return packing_problem(
        "circle_packing", N, (_HERE / "initial_program.py").read_text(), DESCRIPTION, ALPHAEVOLVE, BEST_KNOWN
    )
