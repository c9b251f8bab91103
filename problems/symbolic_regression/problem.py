"""Symbolic regression in the LLM-SR style: a nonlinear oscillator, scored on held-out ranges.

LLM-SR (Shojaee et al., 2024) evolves equation skeletons with up to ten free parameters;
the parameters are fitted to training data and the equation is judged by its normalised
mean squared error (NMSE) on held-out data, in the training range (ID) and outside it
(OOD). Here the data come from a stated law, generated from a documented seed:

    a = -K x - C x^3 - D v |v|,   K = 1.3, C = 0.7, D = 0.4

(a Duffing spring with quadratic drag), noise-free. Training and ID test points have x,
v uniform in [-1, 1]; OOD test points have x, v uniform in [-2, 2] with at least one of
them outside [-1, 1].

Trust: the trusted driver sends the training data and the held-out inputs, never the
held-out targets; the candidate's fitted parameters (computed inside the sandbox) are a
claim and is not used. The scorer computes both NMSEs itself from the
predictions, which are the raw solution, and its own targets.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from evolve.problems.contract import Channel, InvalidOutput, Metrics, Problem

SUMMARY = "symbolic regression (LLM-SR style): a nonlinear oscillator's acceleration, minimise NMSE on held-out ranges"
ANCHOR = (
    "NMSE on the out-of-range test points: the true law reaches 0 (noise-free data), a linear model (the seed) "
    "about 0.24; LLM-SR (Shojaee et al. 2024) reports NMSE on its own oscillator data"
)

SEED = 20240521
K, C, D = 1.3, 0.7, 0.4
MAX_NPARAMS = 10
N_TRAIN, N_TEST = 200, 200
_HERE = Path(__file__).resolve().parent

DESCRIPTION = f"""\
Symbolic regression. Find the law behind the acceleration a of a nonlinear oscillator
from its position x and velocity v. You write an equation skeleton with free
parameters; they are fitted for you by least squares on {N_TRAIN} training points with
x, v in [-1, 1], and the fitted equation is then judged on held-out points: {N_TEST} in
the same range (ID) and {N_TEST} in a wider range, x, v in [-2, 2] (OOD), which only the
right functional form predicts well.

You write `equation(x, v, params) -> np.ndarray`: x and v are 1-D numpy arrays, params a
numpy array of {MAX_NPARAMS} numbers (use as many as you need; the fit starts them at 1).
Return one prediction per point. `numpy` is imported as `np`. Physical intuition helps:
springs give restoring forces in x (possibly nonlinear), friction and drag oppose v.

Objective `nmse_ood`: mean squared error on the OOD points divided by the variance of
their targets; lower is better. The data are noise-free, so the true law reaches 0. The
seed, a linear model, scores about 0.24 (0.012 in the training range).
"""


def law(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Trusted: the stated law that generates every target."""
    return -K * x - C * x**3 - D * v * np.abs(v)


@lru_cache(maxsize=1)
def dataset() -> dict[str, dict[str, list[float]]]:
    """The training and held-out points, the same on every machine (PCG64 from SEED)."""
    rng = np.random.default_rng(SEED)
    train_x, train_v = rng.uniform(-1, 1, N_TRAIN), rng.uniform(-1, 1, N_TRAIN)
    id_x, id_v = rng.uniform(-1, 1, N_TEST), rng.uniform(-1, 1, N_TEST)
    ood = rng.uniform(-2, 2, (4 * N_TEST, 2))
    ood = ood[np.abs(ood).max(axis=1) > 1][:N_TEST]  # at least one coordinate outside the training range
    return {
        split: {"x": xs.tolist(), "v": vs.tolist(), "a": law(xs, vs).tolist()}
        for split, (xs, vs) in {
            "train": (train_x, train_v),
            "test_id": (id_x, id_v),
            "test_ood": (ood[:, 0], ood[:, 1]),
        }.items()
    }


def drive(case: dict[str, Any], channel: Channel) -> Any:
    """Trusted: the training data in full, the held-out inputs without their targets."""
    data = dataset()
    channel.start(
        {
            "train": data["train"],
            "test_id": {k: data["test_id"][k] for k in ("x", "v")},
            "test_ood": {k: data["test_ood"][k] for k in ("x", "v")},
        }
    )
    return channel.result()


def _predictions(output: dict[str, Any], split: str, n: int) -> np.ndarray:
    values = output.get(split)
    if not isinstance(values, list) or len(values) != n:
        got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
        raise InvalidOutput(f"expected {n} predictions for {split}, got {got}")
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidOutput(f"prediction {i} for {split} is {value!r}, not a finite number")
    return np.array(values, dtype=float)


def nmse(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean((predicted - target) ** 2) / np.var(target))


def score(outputs: list[Any], cases: list[Any]) -> Metrics:
    """Trusted: NMSE of the predictions against targets that never left this side."""
    if len(outputs) != 1 or not isinstance(outputs[0], dict):
        raise InvalidOutput("the harness must return {'params': [...], 'test_id': [...], 'test_ood': [...]}")
    out, data = outputs[0], dataset()
    metrics: Metrics = {}
    for split, key in (("test_id", "nmse_id"), ("test_ood", "nmse_ood")):
        target = np.array(data[split]["a"])
        metrics[key] = nmse(_predictions(out, split, len(target)), target)
    metrics["log10_nmse_ood"] = math.log10(max(metrics["nmse_ood"], 1e-300))
    return metrics


def descriptors(metrics: Metrics, outputs: list[Any]) -> dict[str, float]:
    """Behaviour: how well it fits inside the training range vs. how it extrapolates."""
    return {
        "log10_nmse_id": math.log10(max(metrics["nmse_id"], 1e-300)),
        "log10_nmse_ood": metrics["log10_nmse_ood"],
    }


def feedback(metrics: Metrics, outputs: list[Any], cases: list[Any]) -> str:
    return (
        f"NMSE in the training range {metrics['nmse_id']:.3g}, outside it {metrics['nmse_ood']:.3g} "
        "(noise-free data: the true law scores 0 on both). A good ID score with a poor OOD score means the "
        "functional form is wrong and the parameters only compensate inside [-1, 1]."
    )


def make_problem() -> Problem:
    return Problem(
        name="symbolic_regression",
        description=DESCRIPTION,
        initial_program=(_HERE / "initial_program.py").read_text(),
        harness=(_HERE / "harness.py").read_text(),
        cases=[{"equation": "oscillator"}],
        score=score,
        objective="nmse_ood",
        direction="min",
        entry_point="equation",
        time_limit=30.0,
        drive=drive,
        descriptors=descriptors,
        feedback=feedback,
        source="builtin:symbolic_regression",
    )
