"""Find x maximising f(x) = -(x - 3)^2 + 10 using the function `solve()`."""

import math

OBJECTIVE = "value"
DIRECTION = "max"
ENTRY_POINT = "solve"
TIME_LIMIT = 3.0
MEMORY_MB = 1024
INITIAL_PROGRAM = """
# EVOLVE-BLOCK-START
def solve():
    return 0.5
# EVOLVE-BLOCK-END
"""


def score(outputs, cases):
    x = outputs[0]
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"solve() must return a finite number, got {x!r}")
    return {"value": -((x - 3) ** 2) + 10, "x": float(x)}
