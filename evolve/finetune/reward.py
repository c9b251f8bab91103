"""The GRPO reward: run each generated child through the trusted scorer in the sandbox.

The engine supplies ``evaluate(code) -> (status, fitness)`` (built on its sandbox and
problem, so the score is computed outside the candidate, as everywhere else). The
reward is the child's improvement over its parent; failures get a fixed negative
reward and a child identical to its parent (nothing tried) a smaller penalty, so
the policy learns to make valid, improving changes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evolve.archive.dedup import normalize

log = logging.getLogger(__name__)

Evaluate = Callable[[str], tuple[str, float | None]]
ToCode = Callable[[str, str], str | None]

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_code(completion: str, parent_code: str) -> str | None:
    """Default completion -> program: the last fenced code block, else the whole text.

    The engine should pass its LLM operator's own parser (diffs, EVOLVE-BLOCKs) as
    ``to_code`` so rewards see exactly the child the operator would have built.
    """
    blocks = _FENCE.findall(completion)
    code = blocks[-1] if blocks else completion
    return code if code.strip() else None


def completion_text(completion: Any) -> str:
    """trl passes plain strings or, for chat datasets, a list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if m.get("role", "assistant") == "assistant")
    return str(completion)


RewardFn = Callable[..., list[float | None]]
"""trl's reward function shape: one reward per completion (None would mean "does not apply";
``make_reward_fn``'s always gives a number)."""


def make_reward_fn(
    evaluate: Evaluate,
    *,
    to_code: ToCode = extract_code,
    fail_reward: float = -1.0,
    identical_reward: float = -0.5,
    scale: float = 1.0,
    clip: float | None = 10.0,
    max_workers: int = 4,
) -> RewardFn:
    """A trl-style reward function ``fn(prompts, completions, parent_code, parent_fitness, **kw)``.

    reward = clip(scale * (child fitness - parent fitness)) for an ok child;
    ``fail_reward`` when the completion yields no code or the child fails;
    ``identical_reward`` when the child equals its parent up to formatting (not run).
    Evaluations of one batch run in parallel threads (sandboxes are thread-safe).
    """

    def one(text: str, parent_code: str, parent_fitness: float | None) -> float:
        try:
            code = to_code(text, parent_code)
        except Exception as e:  # a parser failing on garbage output is a failed child
            log.debug("to_code failed: %s", e)
            code = None
        if code is None:
            return fail_reward
        if normalize(code) == normalize(parent_code):
            return identical_reward
        status, fitness = evaluate(code)
        if status != "ok" or fitness is None:
            return fail_reward
        gain = scale * (float(fitness) - float(parent_fitness or 0.0))
        if clip is not None:
            gain = max(-clip, min(clip, gain))
        return gain

    def reward(
        prompts: list[Any], completions: list[Any], parent_code: list[str], parent_fitness: list[float], **_: Any
    ) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
            rewards = list(pool.map(one, texts, parent_code, parent_fitness))
        log.info("grpo rewards: %s", ", ".join(f"{r:.3g}" for r in rewards))
        return list(rewards)

    reward.__name__ = "sandbox_improvement"  # trl logs rewards under the function's name
    return reward


def sandbox_evaluator(problem: Any, sandbox: Any) -> Evaluate:
    """``evaluate(code) -> (status, fitness)`` on a ``Problem`` and a ``Sandbox``.

    The candidate runs in the sandbox; the score is the problem's trusted
    ``checked_score`` on its outputs, oriented so larger is better.
    """
    from evolve.problems.contract import InvalidOutput
    from evolve.sandbox.base import EvalJob

    def evaluate(code: str) -> tuple[str, float | None]:
        job = EvalJob(
            code=code,
            harness=problem.harness,
            cases=problem.cases,
            drive=problem.drive,
            time_limit=problem.time_limit,
            memory_mb=problem.memory_mb,
        )
        result = sandbox.evaluate(job)
        if result.status != "ok":
            return result.status, None
        try:
            metrics = problem.checked_score(result.outputs, problem.cases)
        except InvalidOutput:
            return "invalid", None
        return "ok", problem.fitness(metrics[problem.objective])

    return evaluate
