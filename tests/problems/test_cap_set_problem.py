"""Cap set: the trusted side builds the set from the priorities and checks every line."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from evolve.problems import InvalidOutput, load_problem
from evolve.problems.cap_set.problem import greedy, score, vectors, verify


@pytest.fixture(scope="module")
def problem():
    return load_problem("cap_set")


def test_seed_gives_two_to_the_n(problem, inproc):
    outputs = inproc(problem)
    assert len(outputs[0]) == 3**8
    metrics = problem.checked_score(outputs, problem.cases)
    assert metrics["size"] == 256.0 and metrics["size_n8"] == 256.0
    assert "largest known 512" in problem.feedback(metrics, outputs, problem.cases)


def test_small_dimension_is_a_real_cap_set_of_the_optimal_size():
    # For n = 2 the largest cap set has 4 vectors; a priority that prefers them finds it.
    target = {(0, 0), (0, 1), (1, 0), (1, 1)}
    priorities = [1.0 if el in target else 0.0 for el in itertools.product(range(3), repeat=2)]
    members = greedy(np.array(priorities), 2)
    assert {tuple(v) for v in vectors(2)[members].tolist()} == target
    assert score([priorities], [{"n": 2}])["size"] == 4.0


def test_any_priorities_give_a_valid_cap_set():
    rng = np.random.default_rng(3)
    for n in (3, 4, 5):
        priorities = rng.normal(size=3**n).tolist()
        members = greedy(np.array(priorities), n)
        verify(members, n)  # raises if any line were complete
        rows = {tuple(v) for v in vectors(n)[members].tolist()}
        for a, b in itertools.combinations(rows, 2):
            assert tuple((-(x + y)) % 3 for x, y in zip(a, b)) not in rows


def test_a_set_with_one_line_is_rejected():
    # {0000, 0001, 0002} is a line; the rest of a valid set around it does not matter.
    members = greedy(np.zeros(3**4), 4)
    line = np.array([0, 1, 2])
    with pytest.raises(InvalidOutput, match=r"lie on a line"):
        verify(np.concatenate([line, members[~np.isin(members, line)]]), 4)


def test_duplicates_and_out_of_range_are_rejected():
    with pytest.raises(InvalidOutput, match="twice"):
        verify(np.array([4, 4]), 2)
    with pytest.raises(InvalidOutput, match="outside"):
        verify(np.array([0, 9]), 2)


@pytest.mark.parametrize(
    "output, reason",
    [
        ([0.0] * 80, "expected 81 priorities"),
        ([0.0] * 82, "expected 81 priorities"),
        ({"priorities": [0.0] * 81}, "expected 81 priorities"),
        ([0.0] * 80 + [float("nan")], "priority of vector 80 is nan"),
        ([float("inf")] + [0.0] * 80, "priority of vector 0 is inf"),
        ([True] + [0.0] * 80, "priority of vector 0 is True"),
        ([[0.0]] + [0.0] * 80, "not a finite number"),
    ],
)
def test_bad_priorities_are_rejected(output, reason):
    with pytest.raises(InvalidOutput, match=reason):
        score([output], [{"n": 4}])


def test_case_sets(problem):
    assert load_problem("cap_set", case_set="n4").cases == [{"n": 4}]
    assert problem.cases == [{"n": 8}]
