"""Score a search algorithm by how close the point it returns gets to the minimum."""

import importlib.util
import math

import numpy as np
from openevolve.evaluation_result import EvaluationResult


def bumpy(x, y):
    return (x - 1.5) ** 2 + (y + 0.5) ** 2 + 0.3 * np.sin(3 * x) * np.cos(2 * y)


def _global_min():
    grid = np.linspace(-5, 5, 2001)
    xs, ys = np.meshgrid(grid, grid)
    return float(bumpy(xs, ys).min())


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        x, y, _reported = module.run_search()
        x, y = float(x), float(y)
    except Exception as e:  # a broken candidate scores zero, with the reason
        return {"combined_score": 0.0, "error": f"{type(e).__name__}: {e}"}
    if not (math.isfinite(x) and math.isfinite(y)):
        return {"combined_score": 0.0, "error": "the search returned a non-finite point"}
    value = float(bumpy(x, y))  # recomputed here rather than taken from the program
    gap = max(0.0, value - _global_min())
    return EvaluationResult(
        metrics={
            "value_score": 1.0 / (1.0 + gap),
            "distance": math.hypot(x - 1.4, y + 0.6),
            "combined_score": 1.0 / (1.0 + gap),
        },
        artifacts={"point": f"({x:.4f}, {y:.4f}) with value {value:.6f}; gap to the minimum {gap:.6f}"},
    )
