"""Runs inside the sandbox: one priority per vector of F_3^n, in lexicographic order.

Only the priorities leave the sandbox. The trusted scorer builds the cap set from them
itself and checks every line of it, so nothing computed here is taken on trust.
"""

import itertools


def run(program, case):
    n = case["n"]
    return [float(program.priority(el, n)) for el in itertools.product(range(3), repeat=n)]
