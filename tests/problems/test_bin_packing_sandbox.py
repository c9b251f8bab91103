"""Online bin packing through both real sandboxes: the items are fed to the harness one
at a time (by the Docker worker, or the engine), the trusted driver checks every
decision, and a candidate that lies, peeks ahead or breaks the conversation is caught."""

from __future__ import annotations

import pytest

from evolve.problems import load_problem
from evolve.sandbox.base import EvalJob

BACKENDS = ["process", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    if request.param == "process":
        from evolve.sandbox.process import ProcessSandbox

        sb = ProcessSandbox()
    else:
        from evolve.sandbox.docker import DockerSandbox

        sb = DockerSandbox(pool_size=1, memory_mb=512)
    with sb:
        yield sb


def evaluate(sandbox, code=None, harness=None, case_set="or3_small", cases=None):
    problem = load_problem("bin_packing", case_set=case_set)
    return problem, sandbox.evaluate(
        EvalJob(
            code=code or problem.initial_program,
            harness=harness or problem.harness,
            cases=cases or problem.cases,
            drive=problem.drive,
            time_limit=problem.time_limit,
            memory_mb=512,
        )
    )


def test_best_fit_reproduces_funsearch_on_or3(sandbox):
    problem, result = evaluate(sandbox, case_set=None)
    assert result.status == "ok", result.reason
    metrics = problem.checked_score(result.outputs, problem.cases)
    assert metrics["bins"] == 212.0 and round(metrics["excess"], 2) == 5.37


def test_a_candidate_that_lies_about_the_bins_is_caught(sandbox):
    cheat = load_problem("bin_packing").initial_program.replace(
        "    return -(bins - item)  # best fit: the tightest bin wins",
        "    return -(bins - item)\n\n\nnp.nonzero = lambda mask: (np.arange(len(mask)),)",
    )
    _, result = evaluate(sandbox, cheat)
    assert result.status == "invalid" and "does not fit bin" in result.reason, result.reason


PEEK = """
import queue, threading

def run(program, case, channel):
    # A harness that listens ahead: a thread keeps reading while the main thread decides.
    n, capacity = case["num_items"], case["capacity"]
    bins = [capacity] * n
    arrived = queue.Queue()
    threading.Thread(target=lambda: [arrived.put(channel.recv()) for _ in range(n)], daemon=True).start()
    early = []
    for step in range(n):
        item = arrived.get()
        if step in (0, 1, 2, 50, 250):  # before answering: is the next item here already?
            try:
                early.append(arrived.get(timeout=0.05))
            except queue.Empty:
                pass
        fits = [i for i, b in enumerate(bins) if b >= item]
        chosen = min(fits, key=lambda i: (bins[i] - item, i))
        bins[chosen] -= item
        channel.send(chosen)
        if early and step < n - 1:
            break
    if early:
        print("AHEAD", early)
    return None
"""


def test_a_harness_that_listens_ahead_hears_nothing(sandbox):
    cases = load_problem("bin_packing").cases[:2]
    problem, result = evaluate(sandbox, harness=PEEK, cases=cases)
    assert "AHEAD" not in result.stdout, result.stdout[-500:]
    assert result.status == "ok", result.reason
    assert problem.checked_score(result.outputs, cases)["best_fit_agreement"] == 1.0


STOPS = """
def run(program, case, channel):
    for _ in range(3):
        channel.send(0 if channel.recv() else 0)
    return "done early"
"""

FORGES = """
import os
def run(program, case, channel):
    channel.recv()
    os.write(4 if os.path.exists("/proc/1/fd") else 1, b'{"w":"fed","n":0}\\n')
    channel.send(0)
    return None
"""


def test_a_harness_that_stops_answering_is_invalid(sandbox):
    _, result = evaluate(sandbox, harness=STOPS)
    assert result.status == "invalid", result.reason


def test_a_harness_that_forges_the_feed_is_refused(sandbox):
    _, result = evaluate(sandbox, harness=FORGES)
    assert result.status in ("invalid", "error"), result
