"""Built-in problem: pack 26 circles in the unit square, maximising the sum of radii."""
