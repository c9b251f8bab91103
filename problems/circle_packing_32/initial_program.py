"""Circle packing: 32 disjoint circles inside the unit square, maximise the sum of radii."""

import numpy as np


# EVOLVE-BLOCK-START
def construct_packing():
    """Returns (centers, radii): a (32, 2) array of centres and 32 radii.

    A plain grid: 6 columns by 6 rows, 32 of the 36 cells used, every circle as large as
    the spacing allows. Radii are shrunk by a hair because the verifier checks
    containment and non-overlap exactly, with no tolerance for rounding.
    """
    n = 32
    cols, rows = 6, 6
    xs = (np.arange(cols) + 0.5) / cols
    ys = (np.arange(rows) + 0.5) / rows
    centers = np.array([(x, y) for y in ys for x in xs])[:n]
    radii = np.full(n, 0.5 / cols) * (1 - 1e-9)
    return centers, radii


# EVOLVE-BLOCK-END
