"""First autocorrelation inequality: the bound is computed exactly from the raw heights."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from evolve.problems import InvalidOutput, load_problem
from evolve.problems.autocorrelation_c1.problem import exact_bound, score


def brute(heights):
    """The definition, in Fractions: 2m max_k sum_{i+j=k} h_i h_j / (sum h)^2."""
    h = [Fraction(x) for x in heights]
    m = len(h)
    conv = [sum(h[i] * h[k - i] for i in range(max(0, k - m + 1), min(k, m - 1) + 1)) for k in range(2 * m - 1)]
    return 2 * m * max(conv) / sum(h) ** 2


def test_constant_function_gives_two():
    assert exact_bound([1.0] * 600) == 2
    assert exact_bound([3.5]) == 2


def test_exact_bound_matches_the_definition():
    rng = random.Random(7)
    for _ in range(40):
        m = rng.randint(1, 25)
        heights = [rng.choice([0.0, rng.random(), rng.random() * 1e-7, rng.random() * 1e9]) for _ in range(m)]
        heights[rng.randrange(m)] = 1.0
        assert exact_bound(heights) == brute(heights)


def test_seed_scores_below_the_constant(inproc):
    problem = load_problem("autocorrelation_c1")
    outputs = inproc(problem)
    metrics = problem.checked_score(outputs, problem.cases)
    assert metrics["c1_bound"] == float(brute(outputs[0]))
    assert 1.9 < metrics["c1_bound"] < 2.0 and metrics["steps"] == 60.0
    assert "Bound on C1" in problem.feedback(metrics, outputs, problem.cases)


def test_the_metric_is_the_nearest_double_to_the_exact_bound():
    heights = [0.1, 0.7, 0.2, 0.9, 0.30000000000000004]
    assert score([heights], [None])["c1_bound"] == float(brute(heights))


@pytest.mark.parametrize(
    "output, reason",
    [
        ([1.0, -1e-300, 1.0], "height 1 is -1e-300: the function must be non-negative"),
        ([1.0, float("nan")], "height 1 is nan"),
        ([float("inf"), 1.0], "height 0 is inf"),
        ([0.0, 0.0], "every height is zero"),
        ([], "non-empty list"),
        ({"heights": [1.0]}, "non-empty list of step heights, got dict"),
        ([[1.0, 2.0], [3.0, 4.0]], "height 0 is \\[1.0, 2.0\\], not a number"),
        ([1.0, True], "height 1 is True"),
        ([1.0, "2"], "height 1 is '2'"),
        ([1.0] * 50_001, "more than the 50000 allowed"),
    ],
)
def test_invalid_functions_are_rejected(output, reason):
    with pytest.raises(InvalidOutput, match=reason):
        score([output], [None])


def test_too_large_for_exact_verification_is_refused_with_a_reason():
    # Heights spanning the whole double range make every field thousands of bits wide.
    heights = [1e300, 1e-300] * 5000
    with pytest.raises(InvalidOutput, match="too large to verify exactly"):
        score([heights], [None])
