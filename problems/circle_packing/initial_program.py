"""Circle packing: 26 disjoint circles inside the unit square, maximise the sum of radii."""

import numpy as np


# EVOLVE-BLOCK-START
def construct_packing():
    """Returns (centers, radii): a (26, 2) array of centres and 26 radii.

    A plain grid: 6 columns by 5 rows, 26 of the 30 cells used, every circle as large as
    the column spacing allows. Radii are shrunk by a hair because the verifier checks
    containment and non-overlap exactly, with no tolerance for rounding.
    """
    n = 26
    cols, rows = 6, 5
    xs = (np.arange(cols) + 0.5) / cols
    ys = (np.arange(rows) + 0.5) / rows
    centers = np.array([(x, y) for y in ys for x in xs])[:n]
    radii = np.full(n, 0.5 / cols) * (1 - 1e-9)
    return centers, radii


# EVOLVE-BLOCK-END
