"""Runs inside the sandbox: build one tour per instance with select_next_node.

Only the tour (the order of the cities) leaves the sandbox. The trusted scorer checks
that it is a permutation starting at city 0 and measures it with its own coordinates.
"""

import numpy as np


def run(program, case):
    coords = np.asarray(case["coords"], dtype=float)
    n = len(coords)
    distance_matrix = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1))
    unvisited = np.arange(1, n)
    tour = [0]
    while len(unvisited):
        chosen = int(program.select_next_node(tour[-1], 0, unvisited.copy(), distance_matrix.copy()))
        if chosen not in unvisited:
            raise ValueError(f"select_next_node returned {chosen}, which is not an unvisited city")
        tour.append(chosen)
        unvisited = unvisited[unvisited != chosen]
    return tour
