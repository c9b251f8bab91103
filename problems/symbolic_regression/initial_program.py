"""Symbolic regression: an equation skeleton for the acceleration of a nonlinear oscillator.

The harness fits up to MAX_NPARAMS parameters of `equation` to the training data by least
squares, then predicts held-out points, including a range of x and v never seen in training.
"""

import numpy as np

MAX_NPARAMS = 10


# EVOLVE-BLOCK-START
def equation(x: np.ndarray, v: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Acceleration of the oscillator at position x and velocity v.

    Args:
        x: positions (1-D array).
        v: velocities (1-D array, same length).
        params: MAX_NPARAMS numbers fitted to the training data; use as many as needed.

    Return:
        One predicted acceleration per point (1-D array, same length as x).
    """
    return params[0] * x + params[1] * v + params[2]


# EVOLVE-BLOCK-END
