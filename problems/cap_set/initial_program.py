"""Cap sets: a priority for every vector of F_3^n; a greedy builder takes them in that order."""

import numpy as np  # noqa: F401 - available to evolved code


# EVOLVE-BLOCK-START
def priority(el: tuple[int, ...], n: int) -> float:
    """Returns the priority with which vector `el` should join the cap set.

    Args:
        el: a vector of F_3^n as a tuple of n entries, each 0, 1 or 2.
        n: the dimension.

    Return:
        A number; vectors are offered to the greedy builder from the highest priority
        down (ties in lexicographic order), and each joins unless it completes a line.
    """
    return 0.0


# EVOLVE-BLOCK-END
