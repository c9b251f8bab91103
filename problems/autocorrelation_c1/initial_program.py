"""First autocorrelation inequality: a non-negative step function on [-1/4, 1/4] whose
autoconvolution has a small peak relative to the square of its integral."""

import numpy as np


# EVOLVE-BLOCK-START
def construct_function():
    """Returns the heights of a step function on [-1/4, 1/4] with equal-width steps.

    The bound it proves is max_t (f*f)(t) / (integral of f)^2; lower is better. A
    constant function gives 2. Heights must be finite and >= 0.
    """
    n = 60
    x = np.linspace(-1.0, 1.0, n)
    heights = 1.0 - 0.3 * x + 0.3 * x**2  # a gentle tilt already beats the constant's 2
    return heights


# EVOLVE-BLOCK-END
