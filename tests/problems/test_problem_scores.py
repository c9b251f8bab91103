"""score() may return any real number type, numpy scalars included; only what is not a
finite real is refused."""

from __future__ import annotations

import numpy as np
import pytest

from evolve.errors import ProblemError
from evolve.problems.contract import InvalidOutput, Problem


def _problem(metrics) -> Problem:
    return Problem(
        name="scores",
        description="",
        initial_program="def main():\n    return 1\n",
        harness="def run(program, case):\n    return program.main()\n",
        cases=[None],
        score=lambda outputs, cases: metrics,
        objective="value",
    )


@pytest.mark.parametrize(
    "value", [np.float32(1.5), np.float64(1.5), np.int64(3), np.int32(3), np.uint8(3), np.float16(0.5), 2, 2.5]
)
def test_numpy_scalars_and_python_numbers_are_metrics(value):
    metrics = _problem({"value": value, "size": np.int64(7)}).checked_score([1], [None])
    assert metrics == {"value": float(value), "size": 7.0}
    assert all(type(v) is float for v in metrics.values())


@pytest.mark.parametrize("value", ["1.0", None, True, np.bool_(True), 1 + 2j, [1.0], np.array([1.0, 2.0])])
def test_what_is_not_a_real_number_is_refused(value):
    with pytest.raises(ProblemError, match="real number"):
        _problem({"value": 1.0, "other": value}).checked_score([1], [None])


@pytest.mark.parametrize("value", [np.float32("nan"), float("inf"), np.float64("-inf")])
def test_non_finite_metrics_are_invalid_output(value):
    with pytest.raises(InvalidOutput):
        _problem({"value": value}).checked_score([1], [None])
    with pytest.raises(InvalidOutput, match="metric other"):
        _problem({"value": 1.0, "other": value}).checked_score([1], [None])
