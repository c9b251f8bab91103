"""Runs inside the sandbox: call construct_function() and return its step heights as floats.

Only the heights leave the sandbox; the trusted scorer computes the bound from them in
exact arithmetic.
"""

import numpy as np


def run(program, case):
    return np.asarray(program.construct_function(), dtype=float).tolist()
