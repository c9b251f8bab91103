"""Random expressions over the names in scope, the program's own pieces and constants.

The grammar is generic (any numeric Python) but weighted toward what makes scoring
heuristics: conditionals on a quantity crossing a threshold (``np.where(x > c, a, b)``),
arithmetic, safe elementwise functions and minimum/maximum. Leaves prefer names and
small sub-expressions already in the program (``bins - item``), so a new expression
recombines what the program computes instead of starting from nothing. Without numpy
the same shapes use builtins and ``a if cond else b``.
"""

from __future__ import annotations

import ast
import copy
import math
import random
from dataclasses import dataclass, field

ARITH = [ast.Add, ast.Sub, ast.Mult, ast.Div]
ARITH_W = [3.0, 3.0, 2.0, 1.5]
COMPARE = [ast.Lt, ast.Gt, ast.LtE, ast.GtE]
NICE = [1, 2, 3, 0.5, 5, 10, 100, -1]  # no 0: ``x + 0`` and ``x * 0`` waste an evaluation
# Elementwise one-argument numpy functions; sqrt and log1p get np.abs inside (domain).
NP_UNARY = ["abs", "square", "sqrt", "log1p", "exp", "tanh"]
NP_UNARY_W = [2.0, 1.5, 1.0, 1.0, 0.5, 0.5]
NP_BINARY = ["minimum", "maximum"]


def fmt(value: float) -> float | int:
    """A constant rounded to 3 significant digits (short code, and perturbations that
    land on a round number read well)."""
    if value == 0 or not math.isfinite(value):
        return 0
    digits = 2 - int(math.floor(math.log10(abs(value))))
    out = round(value, digits)
    return int(out) if float(out).is_integer() and abs(out) < 1e6 else out


def const(value: float) -> ast.expr:
    value = fmt(value)
    if value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def call(np_alias: str | None, fname: str, *args: ast.expr) -> ast.expr:
    if np_alias is None:
        return ast.Call(ast.Name(fname, ast.Load()), list(args), [])
    return ast.Call(ast.Attribute(ast.Name(np_alias, ast.Load()), fname, ast.Load()), list(args), [])


def names_of(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


@dataclass
class Grammar:
    rng: random.Random
    names: list[str]
    """Variables readable where the expression goes."""
    pieces: list[ast.expr] = field(default_factory=list)
    """Small sub-expressions of the program that only read names in scope."""
    constants: list[float] = field(default_factory=list)
    np_alias: str | None = "np"
    hints: list[float] = field(default_factory=list)
    """Numbers from the problem statement (capacities, sizes...): the scale of the data."""

    # -- constants ---------------------------------------------------------------
    def constant(self) -> float:
        r = self.rng.random()
        if r < 0.3 and self.constants:
            return self.rng.choice(self.constants) * math.exp(self.rng.gauss(0.0, 0.5))
        if r < 0.45 and self.hints:
            sign = -1 if self.rng.random() < 0.3 else 1
            return sign * self.rng.choice(self.hints) * math.exp(self.rng.gauss(0.0, 0.3))
        if r < 0.55:
            return self.rng.choice(NICE)
        sign = -1 if self.rng.random() < 0.2 else 1  # thresholds on negated quantities
        return sign * 10 ** self.rng.uniform(-1.0, 3.0)  # log-uniform over 0.1 .. 1000

    # -- leaves --------------------------------------------------------------------
    def leaf(self, allow_const: bool = True) -> ast.expr:
        options: list[tuple[float, str]] = []
        if self.names:
            options.append((3.0, "name"))
        if self.pieces:
            options.append((2.5, "piece"))
        if allow_const or not options:
            options.append((2.0, "const"))
        kind = self._pick(options)
        if kind == "name":
            return ast.Name(self.rng.choice(self.names), ast.Load())
        if kind == "piece":
            return copy.deepcopy(self.rng.choice(self.pieces))
        return const(self.constant())

    # -- composite -------------------------------------------------------------------
    def expr(self, depth: int = 2) -> ast.expr:
        if depth <= 0 or self.rng.random() < 0.3:
            return self.leaf()
        kind = self._pick([(4.0, "arith"), (2.0, "unary"), (1.0, "minmax"), (2.5, "where"), (0.5, "neg")])
        if kind == "arith":
            op = self.rng.choices(ARITH, ARITH_W)[0]
            return ast.BinOp(self.expr(depth - 1), op(), self.expr(depth - 1))
        if kind == "unary":
            return self.unary(self.expr(depth - 1))
        if kind == "minmax":
            return self.minmax(self.expr(depth - 1), self.expr(depth - 1))
        if kind == "where":
            return self.where(self.condition(depth - 1), self.expr(depth - 1), self.expr(depth - 1))
        return ast.UnaryOp(ast.USub(), self.expr(depth - 1))

    def condition(self, depth: int = 1) -> ast.expr:
        """A comparison, mostly of a program quantity against a threshold constant."""
        left = self.leaf(allow_const=False) if depth <= 1 or self.rng.random() < 0.7 else self.expr(depth - 1)
        # Against a constant threshold, or scale-free against another quantity of the
        # program (``bins - item < item``), which needs no guess of the values' range.
        r = self.rng.random()
        if r < 0.4:
            right = const(self.constant())
        elif r < 0.5:
            right = ast.Constant(0)
        else:
            for _ in range(4):
                right = self.leaf(allow_const=False)
                if ast.dump(right) != ast.dump(left):
                    break
            if r >= 0.8:  # a dimensionless factor: the threshold scales with the quantity
                right = ast.BinOp(right, ast.Mult(), const(10 ** self.rng.uniform(-1.0, 0.7)))
        cmp = ast.Compare(left, [self.rng.choice(COMPARE)()], [right])
        if depth >= 1 and self.rng.random() < 0.12:
            other = self.condition(0)
            if self.np_alias:  # numpy arrays combine elementwise
                return ast.BinOp(cmp, ast.BitAnd(), other)
            return ast.BoolOp(ast.And(), [cmp, other])
        return cmp

    def unary(self, arg: ast.expr) -> ast.expr:
        if self.np_alias is None:
            return call(None, "abs", arg)
        fname = self.rng.choices(NP_UNARY, NP_UNARY_W)[0]
        if fname in ("sqrt", "log1p"):
            arg = call(self.np_alias, "abs", arg)
        return call(self.np_alias, fname, arg)

    def minmax(self, a: ast.expr, b: ast.expr) -> ast.expr:
        if self.np_alias is None:
            return call(None, self.rng.choice(["min", "max"]), a, b)
        return call(self.np_alias, self.rng.choice(NP_BINARY), a, b)

    def where(self, cond: ast.expr, a: ast.expr, b: ast.expr) -> ast.expr:
        if self.np_alias is None:
            return ast.IfExp(cond, a, b)
        return call(self.np_alias, "where", cond, a, b)

    def tweak(self, e: ast.expr) -> ast.expr:
        """``e`` shifted or scaled by a constant, or combined with a small expression."""
        e = copy.deepcopy(e)
        if self.rng.random() < 0.7:
            op = self.rng.choices(ARITH, ARITH_W)[0]
            return ast.BinOp(e, op(), const(self.constant()))
        return ast.BinOp(e, self.rng.choices(ARITH, ARITH_W)[0](), self.expr(1))

    def wrap(self, e: ast.expr) -> tuple[ast.expr, str]:
        """An expression that contains ``e``: the main way programs grow."""
        kind = self._pick([(3.0, "where"), (2.5, "arith"), (1.5, "unary"), (1.0, "minmax")])
        if kind == "where":
            cond = self.condition(1)
            for _ in range(4):  # np.where(c, e, e) would change nothing
                r = self.rng.random()
                # A constant branch overrides ``e`` where the condition holds: ties
                # there fall to the first index, a classic piecewise heuristic.
                other = self.tweak(e) if r < 0.4 else const(self.constant()) if r < 0.65 else self.expr(2)
                if ast.dump(other) != ast.dump(e):
                    break
            if self.rng.random() < 0.5:
                return self.where(cond, copy.deepcopy(e), other), "where"
            return self.where(cond, other, copy.deepcopy(e)), "where"
        if kind == "arith":
            op = self.rng.choices(ARITH, ARITH_W)[0]()
            x = self.expr(1)
            pair = (copy.deepcopy(e), x) if self.rng.random() < 0.7 else (x, copy.deepcopy(e))
            return ast.BinOp(pair[0], op, pair[1]), "arith"
        if kind == "unary":
            return self.unary(copy.deepcopy(e)), "unary"
        # Clipping at a constant saturates a score: ties then fall to the first index.
        bound = const(self.constant()) if self.rng.random() < 0.6 else self.expr(1)
        return self.minmax(copy.deepcopy(e), bound), "minmax"

    def _pick(self, options: list[tuple[float, str]]) -> str:
        return self.rng.choices([o[1] for o in options], [o[0] for o in options])[0]
