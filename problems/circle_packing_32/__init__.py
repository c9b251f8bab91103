"""Built-in problem: pack 32 circles in the unit square, maximise the sum of radii."""
