"""The GP operator: deterministic, valid, block-confined, mixing and bounded children."""

from __future__ import annotations

import ast
import asyncio
import re
import textwrap

import numpy as np
import pytest

from evolve.operators.base import Operator, Parent, ProblemBrief, ProposalRequest
from evolve.operators.gp import DEFAULT_WEIGHTS, MUTATIONS, GPOperator
from evolve.operators.gp.source import expr_depth, normalise, size
from evolve.problems.blocks import split

BIN_PACKING = '''\
"""Online bin packing."""

import numpy as np


# EVOLVE-BLOCK-START
def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Returns priority with which we want to add item to each bin."""
    return -(bins - item)  # best fit
# EVOLVE-BLOCK-END
'''

# Richer parent of the same problem: constants, comparisons, several statements.
RICH_BODY = '''\
    """Returns priority with which we want to add item to each bin."""
    r = bins - item
    gap = np.where(r < 12.5, r + 3, r)
    score = -gap * 2.0
    score -= r / 10
    return score
'''

CIRCLES = '''\
import numpy as np


# EVOLVE-BLOCK-START
def construct_packing():
    """Returns (centers, radii)."""
    n = 26
    cols, rows = 6, 5
    xs = (np.arange(cols) + 0.5) / cols
    ys = (np.arange(rows) + 0.5) / rows
    centers = np.array([(x, y) for y in ys for x in xs])[:n]
    radii = np.full(n, 0.5 / cols) * (1 - 1e-9)
    return centers, radii
# EVOLVE-BLOCK-END
'''

# Two blocks, one of them a function body whose parameters the skeleton declares.
TWO_BLOCKS = """\
import math

SCALE = 3.0


def helper(x, y):
    # EVOLVE-BLOCK-START
    z = x * 2 + y
    return math.sqrt(abs(z)) + SCALE
    # EVOLVE-BLOCK-END


# EVOLVE-BLOCK-START
def main(values):
    total = 0.0
    for v in values:
        total += helper(v, 1.5)
    return total / 4
# EVOLVE-BLOCK-END


if __name__ == "__main__":
    print(main([1, 2, 3]))
"""

UNMARKED = """\
def f(x):
    y = x + 1
    return y * 3
"""


def with_body(seed: str, body: str) -> str:
    head, _, tail = seed.partition('    """Returns priority')
    return head + body + "# EVOLVE-BLOCK-END\n"


RICH = with_body(BIN_PACKING, RICH_BODY)


def request(seed_program: str, *codes: str, seed: int = 0) -> ProposalRequest:
    brief = ProblemBrief("p", "", seed_program, "score", "max", "main")
    parents = [Parent(i + 1, code, 0.0) for i, code in enumerate(codes or (seed_program,))]
    return ProposalRequest(problem=brief, parents=parents, seed=seed)


def propose(op: GPOperator, req: ProposalRequest):
    return asyncio.run(op.propose(req))


PROGRAMS = {
    "bin_packing": (BIN_PACKING, BIN_PACKING),
    "rich": (BIN_PACKING, RICH),
    "circles": (CIRCLES, CIRCLES),
    "two_blocks": (TWO_BLOCKS, TWO_BLOCKS),
    "unmarked": (UNMARKED, UNMARKED),
}


def test_implements_the_operator_protocol():
    op = GPOperator()
    assert isinstance(op, Operator)
    assert (op.name, op.crossover_arity) == ("gp", 2)

    async def lifecycle():
        await op.start()
        out = await op.propose(request(BIN_PACKING))
        await op.close()
        return out

    assert asyncio.run(lifecycle()).code is not None


def test_same_request_same_child_and_seeds_vary_it():
    op = GPOperator()
    for seed in range(10):
        a, b = (
            propose(op, request(BIN_PACKING, RICH, seed=seed)),
            propose(GPOperator(), request(BIN_PACKING, RICH, seed=seed)),
        )
        assert (a.code, a.operator, a.thought) == (b.code, b.operator, b.thought)
    children = {propose(op, request(BIN_PACKING, RICH, seed=s)).code for s in range(30)}
    assert len(children) >= 25
    salted = GPOperator(salt=7)
    assert any(
        propose(salted, request(BIN_PACKING, RICH, seed=s)).code != propose(op, request(BIN_PACKING, RICH, seed=s)).code
        for s in range(5)
    )


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_children_parse_differ_and_keep_the_skeleton(name):
    seed_program, parent = PROGRAMS[name]
    template = split(seed_program)
    op = GPOperator()
    for s in range(60):
        out = propose(op, request(seed_program, parent, seed=s))
        assert out.code is not None, out.reason
        ast.parse(out.code)
        assert normalise(out.code) != normalise(parent)
        assert split(out.code).skeleton == template.skeleton  # only block code changed
        assert out.operator.startswith("gp.mutate.") and out.thought
        assert out.parent_ids == [1]


def test_fragment_block_uses_the_skeleton_function_parameters():
    # The first block is the body of helper(x, y): new expressions may read x and y.
    op = GPOperator(weights={k: 0.0 for k in DEFAULT_WEIGHTS} | {"replace": 1.0})
    reads = set()
    for s in range(60):
        out = propose(op, request(TWO_BLOCKS, seed=s))
        block = split(out.code).blocks[0]
        reads |= {n.id for n in ast.walk(ast.parse(textwrap.dedent(block))) if isinstance(n, ast.Name)}
        assert block.startswith("    ")  # re-indented into the function
    assert {"x", "y"} <= reads


def test_circle_packing_children_are_mostly_valid_and_varied():
    op = GPOperator()
    valid, shapes = 0, set()
    codes = set()
    for s in range(80):
        code = propose(op, request(CIRCLES, seed=s)).code
        codes.add(code)
        space: dict = {}
        try:
            with np.errstate(all="ignore"):
                exec(compile(code, "<child>", "exec"), space)
                centers, radii = space["construct_packing"]()
            centers, radii = np.asarray(centers, dtype=float), np.asarray(radii, dtype=float)
        except Exception:
            continue
        if centers.ndim == 2 and centers.shape[1] == 2 and radii.shape == (len(centers),):
            valid += 1
            shapes.add(len(centers))
    assert len(codes) >= 70
    assert valid >= 35  # untyped GP: shape errors are expected, most children must still run


def test_crossover_mixes_material_from_both_parents():
    a = with_body(BIN_PACKING, '    """doc"""\n    a = bins * 3.25\n    return -(bins - item) + a\n')
    b = with_body(
        BIN_PACKING, '    """doc"""\n    b = np.sqrt(bins) + 7.75\n    return np.where(bins - item < 17, -item, b)\n'
    )
    only = lambda code, other: (
        {ast.dump(n) for n in ast.walk(ast.parse(code)) if isinstance(n, (ast.expr, ast.stmt))}
        - {ast.dump(n) for n in ast.walk(ast.parse(other))}
    )  # noqa: E731
    a_only, b_only = only(a, b), only(b, a)
    op = GPOperator(crossover_mutation=0.0)
    mixed = 0
    for s in range(40):
        out = propose(op, request(BIN_PACKING, a, b, seed=s))
        assert out.operator == "gp.crossover" and out.parent_ids == [1, 2]
        assert normalise(out.code) not in (normalise(a), normalise(b))
        assert split(out.code).skeleton == split(BIN_PACKING).skeleton
        nodes = {ast.dump(n) for n in ast.walk(ast.parse(out.code))}
        mixed += bool(nodes & a_only) and bool(nodes & b_only)
    assert mixed >= 36


def test_crossover_of_identical_parents_falls_back_to_mutation():
    out = propose(GPOperator(), request(BIN_PACKING, RICH, RICH, seed=3))
    assert out.code is not None and out.operator.startswith("gp.mutate.")
    assert out.parent_ids == [1]


def test_bloat_stays_bounded_over_many_generations():
    op = GPOperator(max_nodes=80, max_depth=8, weights={"wrap": 6.0, "insert": 3.0, "duplicate": 3.0})
    code, biggest = RICH, 0
    for gen in range(300):
        out = propose(op, request(BIN_PACKING, code, seed=gen))
        if out.code is None:
            continue
        tree = ast.parse(split(out.code).blocks[0].strip())
        assert size(tree) <= 80 and expr_depth(tree) <= 8
        biggest = max(biggest, size(tree))
        code = out.code  # always keep the child: only the caps stop growth
    assert biggest > 40  # it did try to grow


def _numbers(code: str) -> list:
    """Numeric constants with their sign (``-3`` is a negated 3 in the AST)."""
    out, negated = [], set()
    for n in ast.walk(ast.parse(code)):
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            negated.add(id(n.operand))
        if isinstance(n, ast.Constant) and type(n.value) in (int, float):
            out.append(-n.value if id(n) in negated else n.value)
    return sorted(out)


def _ops(code: str, kind) -> list[str]:
    return [
        type(op).__name__
        for n in ast.walk(ast.parse(code))
        if isinstance(n, kind)
        for op in (n.ops if kind is ast.Compare else [n.op])
    ]


def _stmts(code: str) -> int:
    return sum(isinstance(n, ast.stmt) for n in ast.walk(ast.parse(code)))


CHANGES = {
    "constant": lambda p, c: (
        (_numbers(p) != _numbers(c) or _ops(p, ast.BinOp) != _ops(c, ast.BinOp)) and _stmts(p) == _stmts(c)
    ),
    "operator": lambda p, c: _ops(p, ast.BinOp) != _ops(c, ast.BinOp) or "np.sqrt" in c or "np.abs" in c,
    "compare": lambda p, c: _ops(p, ast.Compare) != _ops(c, ast.Compare),
    "replace": lambda p, c: _stmts(p) == _stmts(c),
    "wrap": lambda p, c: size(ast.parse(c)) > size(ast.parse(p)),
    "unwrap": lambda p, c: size(ast.parse(c)) < size(ast.parse(p)),
    "delete": lambda p, c: _stmts(c) == _stmts(p) - 1,
    "duplicate": lambda p, c: _stmts(c) == _stmts(p) + 1,
    "insert": lambda p, c: _stmts(c) == _stmts(p) + 1 and re.search(r"\bv0\b", c),
}


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_each_mutation_kind(kind):
    op = GPOperator(weights={k: (1.0 if k == kind else 0.0) for k in DEFAULT_WEIGHTS}, extra_mutation=0.0)
    for s in range(15):
        out = propose(op, request(BIN_PACKING, RICH, seed=s))
        assert out.operator == f"gp.mutate.{kind}", out.reason
        assert CHANGES[kind](normalise(RICH), normalise(out.code)), out.code


def test_constant_thought_names_the_change_and_its_line():
    op = GPOperator(weights={k: (1.0 if k == "constant" else 0.0) for k in DEFAULT_WEIGHTS}, extra_mutation=0.0)
    out = propose(op, request(BIN_PACKING, RICH, seed=1))
    m = re.fullmatch(r"constant (\S+) -> (\S+) in line (\d+)", out.thought)
    assert m, out.thought
    line = out.code.splitlines()[int(m.group(3)) - 1]
    assert m.group(2).lstrip("-") in line


def test_nothing_to_change_gives_no_code_and_a_reason():
    stuck = "# EVOLVE-BLOCK-START\npass\n# EVOLVE-BLOCK-END\n"
    out = propose(GPOperator(), request(stuck))
    assert out.code is None and "attempts" in out.reason


def test_parent_with_a_changed_skeleton_is_refused():
    out = propose(GPOperator(), request(BIN_PACKING, BIN_PACKING.replace("import numpy as np", "import numpy")))
    assert out.code is None and "outside" in out.reason


def test_unknown_mutation_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown GP mutation"):
        GPOperator(weights={"teleport": 1.0})


def test_numbers_of_the_description_become_constant_hints():
    from evolve.operators.gp.operator import hints

    assert hints("Capacity 150; sizes 20..100 (5.37%), v2 x3 1e-9, 0 or 1 times 150.") == (150.0, 20.0, 100.0, 5.37)
    # A replacement constant drawn from the hints shows up near their scale.
    op = GPOperator(weights={k: (1.0 if k == "constant" else 0.0) for k in DEFAULT_WEIGHTS}, extra_mutation=0.0)
    described = request(BIN_PACKING, RICH)
    described.problem.description = "bins hold 7777 units"
    near = lambda code: any(5000 < abs(v) < 12000 for v in _numbers(code))  # noqa: E731
    with_hint = sum(
        near(propose(op, ProposalRequest(described.problem, described.parents, seed=s)).code) for s in range(200)
    )
    without = sum(near(propose(op, request(BIN_PACKING, RICH, seed=s)).code) for s in range(200))
    assert with_hint >= 3 and without == 0


ODD = '''\
import numpy as np

LIMIT = 4


# EVOLVE-BLOCK-START
class Scorer:
    """A class, a lambda, an f-string, a comprehension, try/except and a match."""

    def __init__(self, k=2):
        self.k = k

    def score(self, xs):
        f = lambda v: v * self.k
        out = [f(x) + 0.5 for x in xs if x > 1]
        try:
            total = sum(out) / len(out)
        except ZeroDivisionError:
            total = 0.0
        match LIMIT:
            case 4:
                total += 1
            case _:
                total -= 1
        label = f"total={total:.2f}"
        return total, label


async def main(xs=(1, 2, 3)):
    return Scorer(3).score(list(xs))
# EVOLVE-BLOCK-END
'''


def test_unusual_code_never_breaks_the_operator():
    op = GPOperator()
    made = 0
    for s in range(80):
        out = propose(op, request(ODD, ODD, seed=s))
        if out.code is not None:
            ast.parse(out.code)
            assert split(out.code).skeleton == split(ODD).skeleton
            assert 'f"total=' in out.code or "f'total=" in out.code  # strings are not sites
            made += 1
    assert made >= 70
