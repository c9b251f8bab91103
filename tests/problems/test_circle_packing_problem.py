"""Circle packing: the exact verifier accepts what is valid and nothing else."""

from __future__ import annotations

import math

import pytest

from evolve.problems import InvalidOutput, load_problem
from evolve.problems.circle_packing.problem import BEST_KNOWN, N, score

CASES = [{"n": N}]


def grid() -> dict:
    """A valid packing with binary-exact coordinates: 16 circles of radius 1/8 on a 4 x 4
    grid (neighbours and walls touching exactly), 9 small ones in the gaps, 1 in a corner."""
    centers = [[0.125 + 0.25 * i, 0.125 + 0.25 * j] for j in range(4) for i in range(4)]
    radii = [0.125] * 16
    centers += [[0.25 * i, 0.25 * j] for j in (1, 2, 3) for i in (1, 2, 3)]
    radii += [0.125 * (math.sqrt(2) - 1) * 0.999] * 9
    return {"centers": centers + [[0.02, 0.02]], "radii": radii + [0.02]}


@pytest.fixture(scope="module")
def problem():
    return load_problem("circle_packing")


def test_seed_is_valid_and_modest(problem, inproc):
    outputs = inproc(problem)
    metrics = problem.checked_score(outputs, problem.cases)
    assert metrics["valid"] == 1.0
    assert metrics["sum_radii"] == pytest.approx(26 / 12, rel=1e-8)
    assert metrics["sum_radii"] < BEST_KNOWN
    assert set(problem.descriptors(metrics, outputs)) == {"radius_spread", "wall_fraction"}
    assert "Sum of radii 2.16" in problem.feedback(metrics, outputs, problem.cases)


def test_valid_packing_gives_the_exact_sum():
    out = grid()
    metrics = score([out], CASES)
    assert metrics["sum_radii"] == math.fsum(out["radii"])
    assert metrics["contacts"] == 24.0  # 4 x 3 horizontal + 3 x 4 vertical touching pairs
    assert metrics["wall_fraction"] == pytest.approx(13 / 26)
    assert metrics["min_radius"] == 0.02 and metrics["max_radius"] == 0.125


def test_zero_radius_circles_are_allowed():
    out = grid()
    out["radii"][25] = 0.0
    assert score([out], CASES)["min_radius"] == 0.0


def test_overlap_by_1e_12_is_rejected():
    inner = grid()
    inner["radii"][5] += 1e-12  # circle 5 is at (0.375, 0.375) and touches 1, 4, 6 and 9
    with pytest.raises(InvalidOutput, match=r"circles 1 and 5 overlap \(radii sum exceeds centre distance by 1e-12\)"):
        score([inner], CASES)
    edge = grid()
    edge["radii"][3] += 1e-12  # circle 3 touches the right wall
    with pytest.raises(
        InvalidOutput, match=r"circle 3 \(centre \(0.875, 0.125\), radius 0.125000000001\) is not inside"
    ):
        score([edge], CASES)


def test_rounding_cannot_hide_an_overlap():
    # Float arithmetic says these two circles just touch; their exact values overlap.
    r1, r2, x2 = 0.124, 0.117, 0.491
    assert r1 + r2 <= x2 - 0.25 and math.dist((0.25, 0.5), (x2, 0.5)) >= r1 + r2
    out = {"centers": [[0.25, 0.5], [x2, 0.5]] + [[0.9, 0.9]] * 24, "radii": [r1, r2] + [0.0] * 24}
    with pytest.raises(InvalidOutput, match="circles 0 and 1 overlap"):
        score([out], CASES)


@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda o: o["centers"].__setitem__(3, [0.95, 0.125]), "circle 3 .*not inside the unit square"),
        (lambda o: o["centers"].__setitem__(0, [-0.2, 0.125]), "circle 0 .*not inside the unit square"),
        (lambda o: o["radii"].__setitem__(25, -0.01), "circle 25 has a negative radius"),
        (lambda o: o["radii"].pop(), "expected 26 radii, got 25"),
        (lambda o: o["centers"].append([0.5, 0.5]), "expected 26 centres, got 27"),
        (lambda o: o["radii"].__setitem__(4, float("nan")), "radius of circle 4 is nan"),
        (lambda o: o["centers"].__setitem__(2, [float("inf"), 0.5]), "x of circle 2 is inf"),
        (lambda o: o["radii"].__setitem__(1, True), "radius of circle 1 is True, not a number"),
        (lambda o: o["radii"].__setitem__(1, "0.1"), "not a number"),
        (lambda o: o["centers"].__setitem__(5, [0.1, 0.3, 0.0]), "centre of circle 5 .* not a pair"),
        (lambda o: o.pop("radii"), "must return"),
    ],
)
def test_invalid_packings_are_rejected(edit, reason):
    out = grid()
    edit(out)
    with pytest.raises(InvalidOutput, match=reason):
        score([out], CASES)


def test_n32_is_its_own_builtin_with_the_same_exact_verifier(inproc):
    problem = load_problem("circle_packing_32")
    assert problem.cases == [{"n": 32}] and problem.entry_point == "construct_packing"
    outputs = inproc(problem)
    metrics = problem.checked_score(outputs, problem.cases)
    assert metrics["sum_radii"] == pytest.approx(32 / 12, rel=1e-8)
    assert "AlphaEvolve 2.937" in problem.feedback(metrics, outputs, problem.cases)
    grown = outputs[0]
    grown["radii"][0] = grown["centers"][0][0] + 1e-12  # crosses the left wall by 1e-12
    with pytest.raises(InvalidOutput, match="circle 0 .* is not inside"):
        problem.checked_score([grown], problem.cases)
    with pytest.raises(InvalidOutput, match="expected 32 centres, got 26"):
        problem.checked_score([grid()], problem.cases)
