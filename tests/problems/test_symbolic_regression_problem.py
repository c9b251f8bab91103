"""Symbolic regression: held-out targets never enter the sandbox; NMSE is computed outside."""

from __future__ import annotations

import json

import pytest

from evolve.problems import InvalidOutput, load_problem
from evolve.problems.symbolic_regression.problem import N_TEST, dataset, score

LINEAR = "return params[0] * x + params[1] * v + params[2]"
TRUE_FORM = "return params[0] * x + params[1] * x**3 + params[2] * v * np.abs(v)"


@pytest.fixture(scope="module")
def problem():
    return load_problem("symbolic_regression")


def test_the_sandbox_never_sees_the_held_out_targets(problem):
    sent = []

    class Recorder:
        def start(self, case):
            sent.append(json.dumps(case))

        def result(self):
            return None

    problem.drive(problem.cases[0], Recorder())
    data = dataset()
    for split in ("test_id", "test_ood"):
        assert json.dumps(data[split]["a"][0]) not in sent[0]
        assert json.dumps(data[split]["x"][0]) in sent[0]
    assert json.dumps(data["train"]["a"][0]) in sent[0]


def test_the_data_is_reproducible_and_the_ood_range_is_outside_training():
    data = dataset()
    assert len(data["train"]["x"]) == 200 and len(data["test_ood"]["x"]) == N_TEST
    assert all(max(abs(x), abs(v)) > 1 for x, v in zip(data["test_ood"]["x"], data["test_ood"]["v"]))
    assert all(abs(x) <= 1 and abs(v) <= 1 for x, v in zip(data["train"]["x"], data["train"]["v"]))
    assert data["train"]["x"][0] == pytest.approx(0.5526632002148313, abs=1e-12)  # PCG64 from the documented seed


def test_seed_and_the_true_form(problem, inproc):
    assert LINEAR in problem.initial_program
    seed = problem.checked_score(inproc(problem), problem.cases)
    assert 0.1 < seed["nmse_ood"] < 0.5 and seed["nmse_id"] < seed["nmse_ood"]
    true = problem.checked_score(inproc(problem, problem.initial_program.replace(LINEAR, TRUE_FORM)), problem.cases)
    assert true["nmse_ood"] < 1e-12 and true["nmse_id"] < 1e-12
    assert "NMSE in the training range" in problem.feedback(true, [], problem.cases)


def good_output() -> dict:
    data = dataset()
    return {"params": [1.0], "test_id": list(data["test_id"]["a"]), "test_ood": list(data["test_ood"]["a"])}


@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda o: o["test_ood"].pop(), "expected 200 predictions for test_ood, got 199 values"),
        (lambda o: o["test_id"].__setitem__(3, float("nan")), "prediction 3 for test_id is nan"),
        (lambda o: o["test_id"].__setitem__(0, float("inf")), "prediction 0 for test_id is inf"),
        (lambda o: o["test_ood"].__setitem__(5, [1.0]), r"prediction 5 for test_ood is \[1.0\]"),
        (lambda o: o["test_ood"].__setitem__(5, True), "prediction 5 for test_ood is True"),
        (lambda o: o.pop("test_ood"), "got NoneType"),
        (lambda o: o.update(test_id={"nmse": 0.0}), "got dict"),
    ],
)
def test_invalid_predictions_are_rejected(edit, reason):
    out = good_output()
    edit(out)
    with pytest.raises(InvalidOutput, match=reason):
        score([out], [None])


def test_exact_predictions_score_zero_and_a_claimed_score_is_ignored():
    out = good_output()
    out["nmse_ood"] = 1e-99  # a claim inside the output changes nothing
    assert score([out], [None])["nmse_ood"] == 0.0
    with pytest.raises(InvalidOutput, match="must return"):
        score([{"nmse_ood": 0.0}.get("x")], [None])
