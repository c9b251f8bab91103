"""Online bin packing heuristic: score the bins an item fits; it goes to the best one."""

import numpy as np


# EVOLVE-BLOCK-START
def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Returns a priority for each bin the item fits; the item goes to the highest.

    Args:
        item: size of the item to place.
        bins: remaining capacities of the bins the item fits (every entry >= item).

    Return:
        An array with one score per entry of ``bins``.
    """
    return -(bins - item)  # best fit: the tightest bin wins


# EVOLVE-BLOCK-END
