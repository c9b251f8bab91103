"""Runs inside the sandbox: call construct_packing() and return plain lists of floats."""

import numpy as np


def run(program, case):
    centers, radii = program.construct_packing()
    return {
        "centers": np.asarray(centers, dtype=float).tolist(),
        "radii": np.asarray(radii, dtype=float).tolist(),
    }
