"""Bin packing: the trusted driver and scorer reproduce FunSearch and reject cheating."""

from __future__ import annotations

import pytest

from evolve.problems import InvalidOutput, load_problem
from evolve.problems.bin_packing.problem import drive, replay, score

NEXT_FIT = """
import numpy as np

def priority(item, bins):
    return np.arange(len(bins))  # always the last bin that fits: many empty bins get opened
"""


@pytest.fixture(scope="module")
def problem():
    return load_problem("bin_packing")


def test_best_fit_reproduces_funsearch_on_or3(problem, inproc):
    outputs = inproc(problem)
    metrics = problem.checked_score(outputs, problem.cases)
    assert metrics["bins"] == 212.0
    assert metrics["l1_bound"] == pytest.approx(201.2)
    assert round(metrics["excess"], 2) == 5.37
    assert metrics["best_fit_agreement"] == 1.0
    assert [metrics[f"case:{i}"] for i in range(20)] == [float(len(set(o))) for o in outputs]
    assert 0.0 < metrics["nearly_full"] < 1.0
    assert set(problem.descriptors(metrics, outputs)) == {"nearly_full", "best_fit_agreement"}
    text = problem.feedback(metrics, outputs, problem.cases)
    assert "5.37% excess" in text and "u500_" in text


def test_best_fit_reproduces_funsearch_on_weibull(problem, inproc):
    weibull = problem.with_cases("weibull5k")
    metrics = weibull.checked_score(inproc(weibull), weibull.cases)
    assert metrics["bins"] == 2067.0
    assert metrics["l1_bound"] == pytest.approx(1987.8)
    assert round(metrics["excess"], 2) == 3.98


def test_small_case_set_and_a_worse_heuristic(problem, inproc):
    small = load_problem("bin_packing", case_set="or3_small")
    assert len(small.cases) == 5 and small.cases == problem.cases[:5]
    best = small.checked_score(inproc(small), small.cases)
    worse = small.checked_score(inproc(small, NEXT_FIT), small.cases)
    assert small.better(best["excess"], worse["excess"])
    assert worse["best_fit_agreement"] < 1.0


def test_the_harness_sees_only_public_facts_and_one_item_at_a_time(problem, inproc):
    spy = inproc.module(
        "program",
        """
import numpy as np
SEEN = []
def priority(item, bins):
    import inspect
    case = inspect.currentframe().f_back.f_locals["case"]  # what the harness was given
    SEEN.append((item, len(bins), dict(case)))
    return -(bins - item)
""",
    )
    case = {"name": "t", "capacity": 10, "items": [6, 5, 4, 5]}
    [decisions] = inproc(problem, spy, cases=[case])
    assert decisions == [0, 1, 0, 1]
    assert [(item, n) for item, n, _ in spy.SEEN] == [(6, 4), (5, 3), (4, 4), (5, 3)]
    assert all(c == {"capacity": 10, "num_items": 4} for _, _, c in spy.SEEN)
    metrics = score([decisions], [case])
    assert metrics["bins"] == 2.0 and metrics["nearly_full"] == 1.0 and metrics["l1_bound"] == 2.0
    assert metrics["excess"] == 0.0


class ScriptedChannel:
    """A harness that answers with a fixed script, whatever the items are."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.started_with = None

    def start(self, case):
        self.started_with = case

    def exchange(self, message):
        return self.answers.pop(0)

    def feed(self, messages):
        return [self.exchange(m) for m in messages]

    def result(self):
        return None


CASE = {"name": "c", "capacity": 10, "items": [6, 5, 4]}


@pytest.mark.parametrize(
    "answers, reason",
    [
        ([0, 3, 0], "out of range"),
        ([0, -1, 0], "out of range"),
        ([0, 0, 0], "does not fit bin 0"),
        ([1, 1, 0], "item 1 \\(size 5\\) does not fit bin 1"),
        ([0, 1.0, 0], "not an integer"),
        ([0, True, 0], "not an integer"),
        (["0", 1, 0], "not an integer"),
        ([0, None, 0], "not an integer"),
    ],
)
def test_driver_rejects_cheating_answers(answers, reason):
    channel = ScriptedChannel(answers)
    with pytest.raises(InvalidOutput, match=reason):
        drive(CASE, channel)
    assert channel.started_with == {"capacity": 10, "num_items": 3}


def test_driver_accepts_any_legal_packing():
    assert drive(CASE, ScriptedChannel([2, 1, 2])) == [2, 1, 2]
    assert score([[2, 1, 2]], [CASE])["bins"] == 2.0
    assert score([[0, 1, 2]], [CASE])["bins"] == 3.0


@pytest.mark.parametrize(
    "decisions, reason",
    [
        ([0, 0, 0], "does not fit"),
        ([0, 1], "expected 3 decisions"),
        ("012", "expected 3 decisions"),
        ([0, 1, 7], "range"),
    ],
)
def test_score_replays_and_rejects_forged_outputs(decisions, reason):
    with pytest.raises(InvalidOutput, match=reason):
        replay(CASE, decisions)


def test_score_insists_on_one_output_per_case():
    with pytest.raises(InvalidOutput, match="one packing per instance"):
        score([[0, 1, 0]], [CASE, CASE])
