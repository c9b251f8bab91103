"""The first autocorrelation inequality: an upper bound on C1 from a step function.

C1 is the largest constant with max_t (f*f)(t) >= C1 (integral of f)^2 for every
non-negative f supported on [-1/4, 1/4]. Any such f proves C1 <= max(f*f) / (int f)^2.
The candidate returns the heights h_0..h_{m-1} of a step function with m equal steps of
width w = 1 / (2m). Its autoconvolution is piecewise linear with its corners at multiples
of w, where (f*f) = w * c_k with c = h * h (discrete autoconvolution), so the bound is
exactly 2m * max_k c_k / (sum h)^2.

The scorer computes that number exactly: every height is taken as the exact rational
value of its float, scaled to integers over a common power-of-two denominator, and the
autoconvolution is one big-integer square (Kronecker substitution), so the maximum and
the sum are exact and no rounding can lower the bound. Upper bounds: Matolcsi and
Vinuesa 1.5098 (2010), AlphaEvolve 1.5053 (2025), later reports about 1.5029.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from evolve.problems.contract import InvalidOutput, Metrics, Problem

SUMMARY = "first autocorrelation inequality (AlphaEvolve): a step function on [-1/4, 1/4], minimise the bound on C1"
ANCHOR = "upper bound on C1: Matolcsi-Vinuesa 1.5098 (2010); AlphaEvolve 1.5053 (Novikov et al. 2025); later reports about 1.5029"

MAX_STEPS = 50_000
MAX_BITS = 1 << 24
"""Exact verification squares one integer of (steps x bits per step) bits; above this size
it would take too long, and the output is refused with a message saying why."""
MATOLCSI_VINUESA = 1.5098
ALPHAEVOLVE = 1.5053
_HERE = Path(__file__).resolve().parent

DESCRIPTION = f"""\
The first autocorrelation inequality. For a non-negative function f supported on
[-1/4, 1/4], max_t (f*f)(t) >= C1 (integral of f)^2, where f*f is the autoconvolution
(f*f)(t) = integral of f(x) f(t - x) dx. Every such f gives the upper bound
C1 <= max_t (f*f)(t) / (integral of f)^2; find f that makes it as small as possible.

You write `construct_function()` returning the heights h_0, ..., h_{{m-1}} (a list or 1-D
array of m floats, 1 <= m <= {MAX_STEPS}) of a step function on [-1/4, 1/4] with m equal
steps. Heights must be finite and >= 0, not all zero. The bound of such a function is
2m * max_k c_k / (sum_i h_i)^2 with c_k = sum_{{i+j=k}} h_i h_j, computed exactly (rational
arithmetic on the exact values of your floats). `numpy` is imported as `np`; the function
runs once within the time limit and may optimise (e.g. gradient steps on the heights).

Objective `c1_bound`, lower is better. A constant function gives 2; the seed (a tilted parabola) about 1.963.
Matolcsi and Vinuesa reached {MATOLCSI_VINUESA}, AlphaEvolve {ALPHAEVOLVE}, later work about
1.5029. The best known functions are asymmetric and irregular, with many steps (hundreds
or more) whose heights come from numerical optimisation.
"""


def parse(output: Any) -> list[float]:
    """Trusted: the step heights as floats, or InvalidOutput saying what is wrong."""
    if not isinstance(output, list) or not output:
        raise InvalidOutput(f"expected a non-empty list of step heights, got {_what(output)}")
    if len(output) > MAX_STEPS:
        raise InvalidOutput(f"{len(output)} steps is more than the {MAX_STEPS} allowed")
    heights = []
    for i, h in enumerate(output):
        # bool is an int subclass; a nested list is a wrong shape, not a height.
        if isinstance(h, bool) or not isinstance(h, (int, float)):
            raise InvalidOutput(f"height {i} is {h!r}, not a number (return a flat list of floats)")
        h = float(h)
        if not math.isfinite(h):
            raise InvalidOutput(f"height {i} is {h}, not a finite number")
        if h < 0:
            raise InvalidOutput(f"height {i} is {h!r}: the function must be non-negative")
        heights.append(h)
    if not any(heights):
        raise InvalidOutput("every height is zero: the function has no mass")
    return heights


def _what(value: Any) -> str:
    return f"a list of {len(value)}" if isinstance(value, list) else type(value).__name__


def exact_bound(heights: list[float]) -> Fraction:
    """Trusted: 2m * max_k (h*h)_k / (sum h)^2, exactly.

    Each float is p / 2^e; over the common denominator 2^E every height is an integer H_i,
    and the denominators cancel in the ratio. The autoconvolution of the H_i comes from
    one integer square: packing H_i into B-bit fields of X, X^2 holds sum_{i+j=k} H_i H_j
    in field k, since every such sum fits in B bits.
    """
    ratios = [h.as_integer_ratio() for h in heights]
    denominator = max(q for _, q in ratios)  # every q is a power of two, so this is their lcm
    ints = [p * (denominator // q) for p, q in ratios]
    m = len(ints)
    top = max(ints)
    field = 2 * top.bit_length() + m.bit_length() + 1
    field = (field + 7) // 8 * 8  # whole bytes, so fields can be sliced from the bytes
    if field * m * 2 > MAX_BITS:
        raise InvalidOutput(
            f"{m} steps whose heights span {top.bit_length()} binary digits are too large to verify exactly: "
            "use fewer steps, or set negligible heights to exactly 0"
        )
    width = field // 8
    packed = int.from_bytes(b"".join(h.to_bytes(width, "little") for h in ints), "little")
    square = (packed * packed).to_bytes(width * (2 * m - 1), "little")
    peak = max(int.from_bytes(square[k * width : (k + 1) * width], "little") for k in range(2 * m - 1))
    return Fraction(2 * m * peak, sum(ints) ** 2)


def score(outputs: list[Any], cases: list[Any]) -> Metrics:
    """Trusted: the exact bound on C1 proved by the candidate's step function."""
    if len(outputs) != 1:
        raise InvalidOutput(f"expected one step function, got {len(outputs)}")
    heights = parse(outputs[0])
    bound = exact_bound(heights)
    top = max(heights)
    return {
        "c1_bound": float(bound),  # the nearest double to the exact value
        "steps": float(len(heights)),
        "zero_fraction": sum(1 for h in heights if h == 0) / len(heights),
        "end_weight": (heights[0] + heights[-1]) / (2 * top),
    }


def descriptors(metrics: Metrics, outputs: list[Any]) -> dict[str, float]:
    """Behaviour: how sparse the function is, and how heavy its ends are."""
    return {"zero_fraction": metrics["zero_fraction"], "end_weight": metrics["end_weight"]}


def feedback(metrics: Metrics, outputs: list[Any], cases: list[Any]) -> str:
    return (
        f"Bound on C1: {metrics['c1_bound']:.6f} from {metrics['steps']:.0f} steps (lower is better; a constant "
        f"function gives 2, Matolcsi-Vinuesa {MATOLCSI_VINUESA}, AlphaEvolve {ALPHAEVOLVE}). "
        f"{100 * metrics['zero_fraction']:.0f}% of the steps are zero; the end heights average "
        f"{metrics['end_weight']:.2f} of the maximum."
    )


def make_problem() -> Problem:
    return Problem(
        name="autocorrelation_c1",
        description=DESCRIPTION,
        initial_program=(_HERE / "initial_program.py").read_text(),
        harness=(_HERE / "harness.py").read_text(),
        cases=[None],
        score=score,
        objective="c1_bound",
        direction="min",
        entry_point="construct_function",
        time_limit=60.0,
        descriptors=descriptors,
        feedback=feedback,
        source="builtin:autocorrelation_c1",
    )
