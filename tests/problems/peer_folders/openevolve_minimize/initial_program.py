"""Find the minimum of a bumpy function of two variables by random search."""

import numpy as np


# EVOLVE-BLOCK-START
def search_algorithm(iterations=40, bounds=(-5.0, 5.0)):
    """Random search: sample points in the box, keep the lowest."""
    rng = np.random.default_rng(7)
    best_x, best_y = 4.0, 4.0
    best_value = evaluate_function(best_x, best_y)
    for _ in range(iterations):
        x, y = rng.uniform(bounds[0], bounds[1], size=2)
        value = evaluate_function(x, y)
        if value < best_value:
            best_x, best_y, best_value = x, y, value
    return best_x, best_y, best_value


# EVOLVE-BLOCK-END


def evaluate_function(x, y):
    """A bowl with ripples; its minimum is near (1.4, -0.6)."""
    return (x - 1.5) ** 2 + (y + 0.5) ** 2 + 0.3 * np.sin(3 * x) * np.cos(2 * y)


def run_search():
    x, y, value = search_algorithm()
    return x, y, value
