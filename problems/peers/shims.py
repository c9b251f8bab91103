"""Stand-ins for the peers' helper modules, written into the sandbox when the real
package is not installed there. Evaluators import them (``from openevolve.evaluation_result
import EvaluationResult``, ``from shinka.core import run_shinka_eval``); these give the
same call shapes and results, written for Evolve from the documented behaviour.
"""

OPENEVOLVE_EVALUATION_RESULT = '''\
"""Stand-in for openevolve.evaluation_result (Evolve runs this evaluator unchanged)."""

from dataclasses import dataclass, field


@dataclass
class EvaluationResult:
    metrics: dict
    artifacts: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, metrics):
        return cls(metrics=metrics)

    def to_dict(self):
        return self.metrics

    def has_artifacts(self):
        return bool(self.artifacts)
'''

SHINKA_CORE = '''\
"""Stand-in for shinka.core's evaluation helpers (Evolve runs this evaluator unchanged)."""

import importlib.util
import json
import math
import os
import time
import traceback


def load_program(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_json_results(results_dir, metrics, correct, error=None):
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "correct.json"), "w") as f:
        json.dump({"correct": correct, "error": error}, f, indent=4, default=str)
    with open(os.path.join(results_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=4, default=str)


def run_shinka_eval(
    program_path,
    results_dir,
    experiment_fn_name,
    num_runs=1,
    get_experiment_kwargs=None,
    aggregate_metrics_fn=None,
    validate_fn=None,
    plotting_fn=None,
    default_metrics_on_error=None,
    **ignored,
):
    """Run the experiment function num_runs times, validate and aggregate, save and return
    (metrics, correct, error). Options for early stopping and parallel runs are accepted
    and runs happen one after another."""
    metrics = {}
    errors = []
    results, times = [], []
    try:
        module = load_program(program_path)
        fn = getattr(module, experiment_fn_name)
        for i in range(num_runs):
            kwargs = get_experiment_kwargs(i) if get_experiment_kwargs else {"seed": i + 1}
            start = time.perf_counter()
            result = fn(**kwargs)
            times.append(time.perf_counter() - start)
            results.append(result)
            if validate_fn is not None:
                ok, message = validate_fn(result)
                if not ok:
                    errors.append(message or f"run {i} is invalid")
        if aggregate_metrics_fn:
            metrics = dict(aggregate_metrics_fn(results))
        else:
            metrics = {"num_successful_runs": len(results)}
        mean = sum(times) / len(times) if times else 0.0
        metrics["execution_time_mean"] = mean
        metrics["execution_time_std"] = math.sqrt(sum((t - mean) ** 2 for t in times) / len(times)) if times else 0.0
        if validate_fn is not None:
            metrics["num_valid_runs"] = len(results) - len(errors)
            metrics["num_invalid_runs"] = len(errors)
            metrics["all_validation_errors"] = errors
        correct = not errors
        error = f"Validation failed: {errors[0]}" if errors else None
        score = metrics.get("combined_score")
        if isinstance(score, (int, float)) and not math.isfinite(score):
            correct, error = False, error or f"combined_score is {score}"
    except Exception as e:
        metrics = {"combined_score": 0.0, **dict(default_metrics_on_error or {})}
        correct, error = False, f"{type(e).__name__}: {e}\\n{traceback.format_exc()[-2000:]}"
    metrics.pop("extra_data", None)  # Shinka pickles it beside the results; nothing reads it here
    save_json_results(results_dir, metrics, correct, error)
    return metrics, correct, error
'''

SHIM_FILES = {
    "openevolve/__init__.py": "",
    "openevolve/evaluation_result.py": OPENEVOLVE_EVALUATION_RESULT,
    "shinka/__init__.py": "",
    "shinka/core/__init__.py": SHINKA_CORE,
    "shinka/core/wrap_eval.py": "from shinka.core import *  # noqa: F401,F403\n",
}
