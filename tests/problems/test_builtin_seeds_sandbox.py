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


SEED_SCORES = {
    "circle_packing_32": 32 / 12,
    "cap_set": 256.0,
    "autocorrelation_c1": None,  # checked against the in-process score below
}


@pytest.mark.parametrize("name", sorted(SEED_SCORES))
def test_new_builtin_seeds_through_the_sandbox(sandbox, name, inproc):
    problem = load_problem(name)
    result = evaluate(sandbox, problem)
    assert result.status == "ok", result.reason
    metrics = problem.checked_score(result.outputs, problem.cases)
    expected = SEED_SCORES[name]
    if expected is None:
        expected = problem.checked_score(inproc(problem), problem.cases)[problem.objective]
    assert metrics[problem.objective] == pytest.approx(expected, rel=1e-8)


FORGE_RESULT = """

import json as _json

_dumps = _json.dumps


def _forged(obj, *args, **kwargs):
    if isinstance(obj, dict) and "result" in obj:
        obj = {"result": {"CLAIM": 1e9}}
    return _dumps(obj, *args, **kwargs)


_json.dumps = _forged
"""


@pytest.mark.parametrize(
    "name, reason",
    [
        ("cap_set", "expected 6561 priorities"),
        ("autocorrelation_c1", "non-empty list of step heights, got dict"),
        ("circle_packing_32", "must return"),
    ],
)
def test_a_forged_result_claim_is_rejected_by_the_trusted_scorer(sandbox, name, reason):
    # The candidate patches json.dumps inside the sandbox so the runner reports a made-up
    # score instead of its output; the trusted scorer only accepts raw solutions.
    problem = load_problem(name)
    result = evaluate(sandbox, problem, problem.initial_program + FORGE_RESULT)
    assert result.status == "ok", result.reason
    with pytest.raises(InvalidOutput, match=reason):
        problem.checked_score(result.outputs, problem.cases)


def test_a_cap_set_candidate_that_patches_itertools_is_caught(sandbox):
    # Offering only the {0, 1} vectors would hide the other 6305 from the trusted builder.
    problem = load_problem("cap_set")
    cheat = problem.initial_program + (
        "\n\nimport itertools\n_product = itertools.product\n"
        "itertools.product = lambda r, repeat: _product(range(2), repeat=repeat)\n"
    )
    result = evaluate(sandbox, problem, cheat)
    assert result.status == "ok", result.reason
    with pytest.raises(InvalidOutput, match="expected 6561 priorities"):
        problem.checked_score(result.outputs, problem.cases)


@pytest.mark.parametrize("name, case_set", [("tsp", "tsp50_small"), ("tsp", "tsp100"), ("symbolic_regression", None)])
def test_tsp_and_symbolic_regression_seeds_through_the_sandbox(sandbox, name, case_set, inproc):
    problem = load_problem(name, case_set=case_set)
    result = evaluate(sandbox, problem)
    assert result.status == "ok", result.reason
    metrics = problem.checked_score(result.outputs, problem.cases)
    small = problem.cases[:4]
    expected = problem.checked_score(inproc(problem, cases=small), small) if name == "tsp" else None
    if expected is not None:
        assert [metrics[f"case:{i}"] for i in range(4)] == pytest.approx([expected[f"case:{i}"] for i in range(4)])
    else:
        assert 0.1 < metrics["nmse_ood"] < 0.5


def test_a_tsp_candidate_that_patches_numpy_is_caught(sandbox):
    # Patching np.arange makes the harness offer only five cities; the harness is content,
    # the trusted scorer is not.
    problem = load_problem("tsp", case_set="tsp50_small")
    cheat = problem.initial_program + "\n_arange = np.arange\nnp.arange = lambda a, b: _arange(a, b) % 5 + 1\n"
    result = evaluate(sandbox, problem, cheat)
    assert result.status == "ok", result.reason
    with pytest.raises(InvalidOutput, match="expected a tour of 50 cities, got 6 cities"):
        problem.checked_score(result.outputs, problem.cases)
