"""The GRPO reward: children evaluated for real in the process sandbox, scored outside it."""

from __future__ import annotations

import math

import pytest

from evolve.finetune import extract_code, make_reward_fn, sandbox_evaluator
from evolve.problems.contract import InvalidOutput, Problem

PARENT = "def main():\n    return 1.0\n"
HARNESS = "def run(program, case):\n    return program.main()\n"


def _score(outputs, cases):
    x = outputs[0]
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise InvalidOutput(f"main() must return a finite number, got {x!r}")
    return {"value": float(x)}


@pytest.fixture(scope="module")
def problem():
    return Problem(
        name="const",
        description="return a big number",
        initial_program=PARENT,
        harness=HARNESS,
        cases=[None],
        score=_score,
        objective="value",
        direction="max",
        time_limit=5.0,
        memory_mb=512,
    )


@pytest.fixture(scope="module")
def sandbox():
    from evolve.sandbox.process import ProcessSandbox

    with ProcessSandbox() as sb:
        yield sb


def chat(text):
    return [{"role": "assistant", "content": text}]


def test_reward_from_real_sandbox_evaluations(problem, sandbox):
    evaluate = sandbox_evaluator(problem, sandbox)
    evaluated = []

    def counting(code):
        evaluated.append(code)
        return evaluate(code)

    reward = make_reward_fn(counting, clip=10.0)
    completions = [
        chat("Better:\n```python\ndef main():\n    return 3.0\n```"),  # +2 over the parent
        chat("def main():\n    raise ValueError('boom')\n"),  # error
        chat("```python\ndef main():   # same thing\n    return (1.0)\n```"),  # identical: not run
        chat("def main():\n    return 'abc'\n"),  # invalid (the trusted scorer says so)
        chat("   "),  # no code at all
        chat("def main():\n    return 100.0\n"),  # +99, clipped
        "def main():\n    return 0.25\n",  # plain-text completion, worse
    ]
    n = len(completions)
    rewards = reward(prompts=[[]] * n, completions=completions, parent_code=[PARENT] * n, parent_fitness=[1.0] * n)
    assert rewards == [2.0, -1.0, -0.5, -1.0, -1.0, 10.0, -0.75]
    assert len(evaluated) == 5  # the identical child and the empty one never reach the sandbox


def test_sandbox_evaluator_orients_fitness_for_min_problems(sandbox):
    from dataclasses import replace

    p = Problem(
        name="m",
        description="",
        initial_program=PARENT,
        harness=HARNESS,
        cases=[None],
        score=_score,
        objective="value",
        direction="min",
        time_limit=5.0,
        memory_mb=512,
    )
    assert sandbox_evaluator(p, sandbox)("def main():\n    return 4.0\n") == ("ok", -4.0)
    assert sandbox_evaluator(replace(p, time_limit=1.0), sandbox)("import time\ndef main():\n    time.sleep(30)\n") == (
        "timeout",
        None,
    )


def test_reward_options_and_custom_parser():
    calls = []

    def evaluate(code):
        calls.append(code)
        return ("ok", 5.0) if "good" in code else ("error", None)

    reward = make_reward_fn(
        evaluate,
        to_code=lambda text, parent: None if "bad-diff" in text else parent + text,
        fail_reward=-2.0,
        identical_reward=-0.1,
        scale=0.5,
        clip=None,
        max_workers=1,
    )
    out = reward(
        prompts=[None] * 4,
        completions=["y = 'good'\n", "bad-diff", "y = 2\n", "# only a comment\n"],
        parent_code=["x = 1\n"] * 4,
        parent_fitness=[1.0] * 4,
    )
    assert out == [2.0, -2.0, -2.0, -0.1]  # a comment changes nothing: identical to the parent
    assert calls == ["x = 1\ny = 'good'\n", "x = 1\ny = 2\n"]
    assert reward.__name__ == "sandbox_improvement"


def test_extract_code_takes_the_last_fenced_block():
    assert extract_code("a\n```python\nx = 1\n```\nthen\n```\ny = 2\n```", "") == "y = 2\n"
    assert extract_code("z = 3", "") == "z = 3"
    assert extract_code("  \n", "") is None
