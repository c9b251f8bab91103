"""The built-in seeds evaluated for real, through the process sandbox, then scored."""

from __future__ import annotations

import pytest

from evolve.problems import InvalidOutput, load_problem
from evolve.sandbox import process
from evolve.sandbox.base import EvalJob


@pytest.fixture(scope="module")
def sandbox():
    with process.ProcessSandbox() as sb:
        yield sb


def evaluate(sandbox, problem, code=None):
    return sandbox.evaluate(
        EvalJob(
            code=code or problem.initial_program,
            harness=problem.harness,
            cases=problem.cases,
            drive=problem.drive,
            time_limit=problem.time_limit,
            memory_mb=problem.memory_mb,
        )
    )


def test_bin_packing_seed_through_the_sandbox(sandbox):
    problem = load_problem("bin_packing")
    result = evaluate(sandbox, problem)
    assert result.status == "ok", result.reason
    metrics = problem.checked_score(result.outputs, problem.cases)
    assert metrics["bins"] == 212.0 and round(metrics["excess"], 2) == 5.37


def test_circle_packing_seed_through_the_sandbox(sandbox):
    problem = load_problem("circle_packing")
    result = evaluate(sandbox, problem)
    assert result.status == "ok", result.reason
    assert problem.checked_score(result.outputs, problem.cases)["sum_radii"] == pytest.approx(26 / 12, rel=1e-8)


def test_a_candidate_that_subverts_the_harness_is_caught(sandbox):
    # Patching numpy makes the harness offer bins the item does not fit; the driver notices.
    cheat = load_problem("bin_packing").initial_program.replace(
        "    return -(bins - item)  # best fit: the tightest bin wins",
        "    return -(bins - item)\n\n\nnp.nonzero = lambda mask: (np.arange(len(mask)),)",
    )
    problem = load_problem("bin_packing", case_set="or3_small")
    result = evaluate(sandbox, problem, cheat)
    assert result.status == "invalid"
    assert "does not fit bin" in result.reason


def test_an_overlapping_packing_runs_but_scores_invalid(sandbox):
    problem = load_problem("circle_packing")
    grown = problem.initial_program.replace("* (1 - 1e-9)", "* (1 + 1e-9)")
    result = evaluate(sandbox, problem, grown)
    assert result.status == "ok", result.reason
    with pytest.raises(InvalidOutput, match="overlap|not inside"):
        problem.checked_score(result.outputs, problem.cases)
