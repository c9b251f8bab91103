"""TSP construction: start at city 0, repeatedly choose the next city, return to city 0."""

import numpy as np


# EVOLVE-BLOCK-START
def select_next_node(
    current_node: int, destination_node: int, unvisited_nodes: np.ndarray, distance_matrix: np.ndarray
) -> int:
    """Returns the next city to visit.

    Args:
        current_node: the city the tour is at.
        destination_node: the city the tour must return to at the end (the start).
        unvisited_nodes: 1-D integer array of the cities not visited yet (never empty).
        distance_matrix: (n, n) array of Euclidean distances between all cities.

    Return:
        One entry of `unvisited_nodes`.
    """
    return int(unvisited_nodes[np.argmin(distance_matrix[current_node, unvisited_nodes])])  # nearest neighbour


# EVOLVE-BLOCK-END
