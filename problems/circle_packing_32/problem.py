"""Circle packing with n = 32: the second AlphaEvolve instance, the n = 26 verifier.

A separate built-in rather than a case set of ``circle_packing``: a program is evolved for
one n (the entry point takes no arguments and returns exactly n circles), so the two
instances have different seeds. Validity is checked exactly, as for n = 26.
"""

from __future__ import annotations

from pathlib import Path

from evolve.problems.circle_packing.problem import DESCRIPTION_TEMPLATE, packing_problem
from evolve.problems.contract import Problem

SUMMARY = "circle packing (AlphaEvolve): 32 circles in the unit square, maximise the sum of radii, exact verifier"
ANCHOR = "n=32: AlphaEvolve 2.937, previous best 2.936 (Novikov et al. 2025)"

N = 32
ALPHAEVOLVE = 2.937
BEST_KNOWN = 2.937
_HERE = Path(__file__).resolve().parent

DESCRIPTION = DESCRIPTION_TEMPLATE.format(
    N=N,
    anchors=f"The seed (a 6 x 6 grid, 32 of 36 cells) scores about 2.67. AlphaEvolve reached {ALPHAEVOLVE} "
    "(the previous best was 2.936).",
)


def make_problem() -> Problem:
    return packing_problem(
        "circle_packing_32", N, (_HERE / "initial_program.py").read_text(), DESCRIPTION, ALPHAEVOLVE, BEST_KNOWN
    )
