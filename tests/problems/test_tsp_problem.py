"""TSP: tours are validated as permutations and measured with the trusted coordinates;
the optimal tours shipped as data are real tours of the stated length."""

from __future__ import annotations

import json
import math

import pytest

from evolve.problems import InvalidOutput, load_problem
from evolve.problems.tsp import make_data
from evolve.problems.tsp.problem import _dataset, check_tour, score, tour_length


@pytest.fixture(scope="module")
def small():
    return load_problem("tsp", case_set="tsp50_small")


def test_instances_come_from_the_documented_seed():
    data = _dataset()
    assert data["seed"] == make_data.SEED
    regenerated = make_data.instances()
    for group in ("tsp50", "tsp100"):
        rows = data["sets"][group]
        assert len(rows) == {"tsp50": 64, "tsp100": 32}[group]
        assert [row["coords"] for row in rows] == regenerated[group]


def test_optimal_tours_are_tours_of_the_stated_length():
    for group, n in (("tsp50", 50), ("tsp100", 100)):
        for row in _dataset()["sets"][group]:
            tour = check_tour(row["optimal_tour"], n)
            assert tour_length(row["coords"], tour) == pytest.approx(row["optimal_length"], rel=1e-12)


def test_the_solver_proves_a_small_instance_optimal():
    # Brute force over every tour of 7 cities agrees with the MILP.
    import itertools

    coords = [[0.1, 0.2], [0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.7, 0.9], [0.4, 0.1], [0.95, 0.6]]
    best = min(tour_length(coords, [0, *p]) for p in itertools.permutations(range(1, 7)))
    assert tour_length(coords, make_data.solve(coords)) == pytest.approx(best, rel=1e-9)


def test_seed_is_nearest_neighbour(small, inproc):
    outputs = inproc(small)
    metrics = small.checked_score(outputs, small.cases)
    assert 10 < metrics["gap"] < 40 and metrics["max_gap"] >= metrics["gap"]
    assert metrics["mean_optimal_length"] == pytest.approx(
        sum(c["optimal_length"] for c in small.cases) / len(small.cases)
    )
    assert "Mean gap to the optimal tours" in small.feedback(metrics, outputs, small.cases)


def test_optimal_tours_score_zero(small):
    outputs = [case["optimal_tour"] for case in small.cases]
    metrics = score(outputs, small.cases)
    assert abs(metrics["gap"]) < 1e-9 and metrics["optimal_fraction"] == 1.0


def test_the_driver_never_sends_the_optimal_tour(small):
    sent = []

    class Recorder:
        def start(self, case):
            sent.append(case)

        def result(self):
            return list(range(50))

    small.drive(small.cases[0], Recorder())
    assert sent == [{"coords": small.cases[0]["coords"]}]


def tour_of(case):
    return list(range(len(case["coords"])))


@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda t: t.__setitem__(5, t[4]), "city 4 is visited twice"),
        (lambda t: t.pop(), "expected a tour of 50 cities, got 49"),
        (lambda t: t.append(0), "got 51"),
        (lambda t: t.__setitem__(3, 50), "city 50 at step 3 is out of range"),
        (lambda t: t.__setitem__(3, -1), "city -1 at step 3 is out of range"),
        (lambda t: t.__setitem__(3, 3.0), "step 3 is 3.0, not a city index"),
        (lambda t: t.__setitem__(1, True), "step 1 is True, not a city index"),
        (lambda t: t.reverse(), "must start at city 0"),
    ],
)
def test_invalid_tours_are_rejected(small, edit, reason):
    case = small.cases[0]
    tour = tour_of(case)
    edit(tour)
    with pytest.raises(InvalidOutput, match=reason):
        score([tour] + [tour_of(c) for c in small.cases[1:]], small.cases)


def test_a_claimed_length_is_ignored(small):
    with pytest.raises(InvalidOutput, match="expected a tour of 50 cities, got dict"):
        score([{"length": 0.0}] + [tour_of(c) for c in small.cases[1:]], small.cases)
    assert json.loads(json.dumps(score([tour_of(c) for c in small.cases], small.cases)))["gap"] > 100
    assert math.isfinite(score([tour_of(c) for c in small.cases], small.cases)["gap"])
