"""A constructive TSP heuristic on fixed TSP50 / TSP100 sets, in the EoH / ReEvo setting.

The candidate evolves ``select_next_node(current, destination, unvisited, distances)``;
the harness builds a tour from city 0 with it. Each instance's cities were drawn from a
documented seed and each comes with a proven optimal tour (``make_data.py``), so the
objective is the true optimality gap.

Trust: the trusted driver sends only the coordinates (never the optimal tour), takes back
the tour, and the scorer checks it is a permutation of the cities starting at city 0 and
measures it with its own copy of the coordinates. The tour is validated and scored as a
whole rather than driven step by step over the channel: the rules of the TSP constrain
only what a tour is, not how it is produced, so any valid tour is an honest result; and
a step driver could not stop the candidate from planning ahead inside the sandbox anyway.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from evolve.problems.contract import Channel, InvalidOutput, Metrics, Problem

SUMMARY = "TSP construction (EoH / ReEvo): evolve select_next_node; 64 TSP50 instances, minimise % gap to the optimum"
ANCHOR = (
    "% gap to proven optima on these instances: nearest neighbour (the seed) 24.8 on TSP50, 23.6 on TSP100; "
    "the setting of EoH (Liu et al. 2024) and ReEvo (Ye et al. 2024), whose gaps are on their own instances"
)

_HERE = Path(__file__).resolve().parent
_DATA = _HERE / "tsp_instances.json"

DESCRIPTION = """\
Travelling salesman, constructive heuristic. A tour starts at city 0, visits every city
exactly once and returns to city 0. It is built one step at a time: at each step your
function picks the next city among the unvisited ones.

You write `select_next_node(current_node, destination_node, unvisited_nodes,
distance_matrix) -> int`:
- `current_node`: the city the tour is at (an int);
- `destination_node`: where the tour must end (city 0, the start);
- `unvisited_nodes`: 1-D numpy int array of the cities not yet visited (never empty);
- `distance_matrix`: (n, n) numpy array of Euclidean distances.
Return one entry of `unvisited_nodes`. `numpy` is imported as `np`. The function runs
once per step (n - 1 times per instance), so keep it fast.

Instances: cities uniform in the unit square, 64 instances of 50 cities (case set
`tsp100`: 32 instances of 100 cities). Objective `gap`: the mean percentage by which your tours exceed
the proven optimal tours; lower is better. The seed is nearest neighbour. Better rules
look beyond the nearest city: e.g. penalise cities that would be left isolated, weigh
the distance back to the destination near the end, or look one or two steps ahead.
"""


@lru_cache(maxsize=1)
def _dataset() -> dict[str, Any]:
    with open(_DATA) as f:
        return json.load(f)


def _cases(group: str) -> list[dict[str, Any]]:
    return [
        {
            "name": f"{group}_{i:02d}",
            "coords": row["coords"],
            "optimal_length": row["optimal_length"],
            "optimal_tour": row["optimal_tour"],
        }
        for i, row in enumerate(_dataset()["sets"][group])
    ]


def drive(case: dict[str, Any], channel: Channel) -> Any:
    """Trusted: hand over the cities only; the optimal tour stays on this side."""
    channel.start({"coords": case["coords"]})
    return channel.result()


def tour_length(coords: list[list[float]], tour: list[int]) -> float:
    """Trusted: the closed tour's Euclidean length, from the trusted coordinates."""
    return math.fsum(math.dist(coords[tour[i - 1]], coords[tour[i]]) for i in range(len(tour)))


def check_tour(tour: Any, n: int, name: str = "?") -> list[int]:
    """Trusted: the tour as a list of ints, or InvalidOutput saying what is wrong."""
    if not isinstance(tour, list) or len(tour) != n:
        got = f"{len(tour)} cities" if isinstance(tour, list) else type(tour).__name__
        raise InvalidOutput(f"instance {name}: expected a tour of {n} cities, got {got}")
    seen = [False] * n
    for step, city in enumerate(tour):
        # type() not isinstance(): JSON true/false decode to bool, a subclass of int.
        if type(city) is not int:
            raise InvalidOutput(f"instance {name}: step {step} is {city!r}, not a city index")
        if not 0 <= city < n:
            raise InvalidOutput(f"instance {name}: city {city} at step {step} is out of range 0..{n - 1}")
        if seen[city]:
            raise InvalidOutput(f"instance {name}: city {city} is visited twice (again at step {step})")
        seen[city] = True
    if tour[0] != 0:
        raise InvalidOutput(f"instance {name}: the tour must start at city 0, not {tour[0]}")
    return tour


def score(outputs: list[Any], cases: list[dict[str, Any]]) -> Metrics:
    """Trusted: validate every tour and measure its gap to the proven optimum."""
    if len(outputs) != len(cases):
        raise InvalidOutput(f"expected one tour per instance ({len(cases)}), got {len(outputs)}")
    gaps, lengths = [], []
    for tour, case in zip(outputs, cases):
        coords = case["coords"]
        length = tour_length(coords, check_tour(tour, len(coords), case["name"]))
        lengths.append(length)
        gaps.append(100.0 * (length - case["optimal_length"]) / case["optimal_length"])
    metrics: Metrics = {
        "gap": sum(gaps) / len(gaps),
        "max_gap": max(gaps),
        "optimal_fraction": sum(1 for g in gaps if g < 1e-7) / len(gaps),
        "mean_length": sum(lengths) / len(lengths),
        "mean_optimal_length": sum(c["optimal_length"] for c in cases) / len(cases),
    }
    metrics.update({f"case:{i}": g for i, g in enumerate(gaps)})
    return metrics


def descriptors(metrics: Metrics, outputs: list[Any]) -> dict[str, float]:
    """Behaviour: the average gap and the worst one (consistent vs. erratic heuristics)."""
    return {"gap": metrics["gap"], "max_gap": metrics["max_gap"]}


def feedback(metrics: Metrics, outputs: list[Any], cases: list[dict[str, Any]]) -> str:
    worst = max(range(len(cases)), key=lambda i: metrics[f"case:{i}"])
    return (
        f"Mean gap to the optimal tours {metrics['gap']:.3f}% (worst {metrics['max_gap']:.2f}% on "
        f"{cases[worst]['name']}); {100 * metrics['optimal_fraction']:.0f}% of the tours are optimal. "
        "Nearest neighbour gives 24.8% on the TSP50 set."
    )


def make_problem() -> Problem:
    tsp50, tsp100 = _cases("tsp50"), _cases("tsp100")
    return Problem(
        name="tsp",
        description=DESCRIPTION,
        initial_program=(_HERE / "initial_program.py").read_text(),
        harness=(_HERE / "harness.py").read_text(),
        cases=tsp50,
        score=score,
        objective="gap",
        direction="min",
        entry_point="select_next_node",
        time_limit=10.0,
        drive=drive,
        descriptors=descriptors,
        feedback=feedback,
        case_sets={"tsp50": tsp50, "tsp100": tsp100, "tsp50_small": tsp50[:8]},
        source="builtin:tsp",
    )
