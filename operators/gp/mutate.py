"""Mutations of one evolve block's AST, each a small named edit.

Every mutation edits ``ctx.tree`` (the block's AST) in place and returns a one-line description of
what it did (the proposal's thought), or None when it does not apply to this block (no
constants to perturb, no comparison to swap...), so the caller can pick another kind.
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Callable
from dataclasses import dataclass

from evolve.operators.gp.grammar import ARITH, ARITH_W, COMPARE, NP_BINARY, NP_UNARY, Grammar, const, fmt, names_of
from evolve.operators.gp.sites import Site, Slot, is_docstring, is_number, layout, names_in_scope, number_of
from evolve.operators.gp.source import Block, size

PIECE_MAX_NODES = 7


@dataclass
class Context:
    rng: random.Random
    block: Block
    np_alias: str | None
    globals: frozenset[str]
    seed_size: int | None = None
    """AST size of this block in the problem's seed program (scales shrinking mutations)."""
    hints: tuple[float, ...] = ()
    """Numbers from the problem description, offered to the grammar as constants."""

    @property
    def tree(self) -> ast.Module:
        """The block's AST; mutations only run on blocks that parse (``Block.mutable``)."""
        return self.block.module

    def line(self, node: ast.AST) -> int:
        return self.block.first_line + getattr(node, "lineno", 1) - 1

    def grammar(self, func, line: int) -> Grammar:
        """The grammar for a new expression at ``line``: names in scope, the block's small
        sub-expressions that only read those names, and its constants."""
        tree = self.tree
        names = names_in_scope(self.block, func, line)
        readable = set(names) | self.globals
        pieces: dict[str, ast.expr] = {}
        for site in layout(tree).sites:
            node = site.node
            if not isinstance(node, ast.Name) and not is_number(node) and size(node) <= PIECE_MAX_NODES:
                used = names_of(node)
                if used - set(self.globals) and used <= readable and site.stmt.lineno <= line:
                    pieces.setdefault(ast.unparse(node), node)
        return Grammar(self.rng, names, list(pieces.values()), constants(tree), self.np_alias, list(self.hints))

    def grammar_at(self, site: Site) -> Grammar:
        return self.grammar(site.func, site.stmt.lineno)


def constants(tree: ast.AST) -> list[float]:
    values = (number_of(n) for n in ast.walk(tree))
    return [v for v in values if v is not None and v not in (0, 1)]


def short(node: ast.AST, limit: int = 48) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number_value(node: ast.expr) -> float | None:
    """A numeric literal's value, negated literals (``-3``) included."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = number_of(node.operand)
        return None if inner is None else -inner
    return number_of(node)


def _depth_weights(sites: list[Site]) -> list[float]:
    return [1.0 / (1.0 + s.depth) for s in sites]


# -- the mutations ------------------------------------------------------------------------


def m_constant(ctx: Context) -> str | None:
    """Perturb a numeric constant: mostly a relative gaussian step, sometimes an integer
    step, a sign flip or a fresh value from the grammar."""
    sites = [s for s in layout(ctx.tree).sites if _number_value(s.node) is not None]
    # Skip the operand of a negated constant: the UnaryOp site stands for it.
    sites = [s for s in sites if not (isinstance(s.parent, ast.UnaryOp) and isinstance(s.parent.op, ast.USub))]
    if not sites:
        return None
    site = ctx.rng.choice(sites)
    old = _number_value(site.node)
    if old is None:  # filtered above
        return None
    is_int = isinstance(old, int)
    for _ in range(8):
        r = ctx.rng.random()
        if r < 0.55:
            new = old * (1.0 + ctx.rng.gauss(0.0, 0.3)) if old else ctx.rng.gauss(0.0, 1.0)
        elif r < 0.7:
            new = old + ctx.rng.choice([-2, -1, 1, 2])
        elif r < 0.78:
            new = -old
        else:
            new = ctx.grammar_at(site).constant()
        if is_int and ctx.rng.random() < 0.9:  # integers are often counts or indices
            new = round(new)
        if fmt(new) != fmt(old):
            break
    else:
        return None
    parent = site.parent
    if new < 0 and isinstance(parent, ast.BinOp) and site.field == "right" and type(parent.op) in (ast.Add, ast.Sub):
        parent.op = ast.Sub() if isinstance(parent.op, ast.Add) else ast.Add()  # x + -3 reads x - 3
        site.replace(const(-new))
    else:
        site.replace(const(new))
    return f"constant {fmt(old)} -> {fmt(new)} in line {ctx.line(site.stmt)}"


def m_operator(ctx: Context) -> str | None:
    """Swap an arithmetic operator, or a numpy function for another of the same arity."""
    cands: list[Site] = []
    for s in layout(ctx.tree).sites:
        if isinstance(s.node, ast.BinOp) and type(s.node.op) in ARITH + [ast.Pow]:
            cands.append(s)
        elif _np_func(ctx, s.node) in NP_UNARY + NP_BINARY:
            cands.append(s)
    if not cands:
        return None
    site = ctx.rng.choice(cands)
    node = site.node
    if isinstance(node, ast.BinOp):
        ops = [op for op in ARITH if not isinstance(node.op, op)]
        weights = [w for op, w in zip(ARITH, ARITH_W) if not isinstance(node.op, op)]
        if _number_value(node.right) is not None and not isinstance(node.op, ast.Pow):
            ops, weights = ops + [ast.Pow], weights + [1.0]  # powers only of a constant exponent
        old = _op_text(node.op)
        node.op = ctx.rng.choices(ops, weights)[0]()
        return f"operator {old} -> {_op_text(node.op)} in line {ctx.line(site.stmt)}"
    old_fn = _np_func(ctx, node)
    if old_fn is None or ctx.np_alias is None or not isinstance(node, ast.Call):
        return None  # only numpy calls reach here (see cands)
    assert isinstance(node.func, ast.Attribute)
    pool = NP_BINARY if old_fn in NP_BINARY else NP_UNARY
    new = ctx.rng.choice([f for f in pool if f != old_fn])
    node.func.attr = new
    if new in ("sqrt", "log1p") and _np_func(ctx, node.args[0]) != "abs":
        node.args[0] = ast.Call(
            ast.Attribute(ast.Name(ctx.np_alias, ast.Load()), "abs", ast.Load()), [node.args[0]], []
        )
    return f"np.{old_fn} -> np.{new} in line {ctx.line(site.stmt)}"


def m_compare(ctx: Context) -> str | None:
    """Swap a comparison operator (``<`` to ``>=``...)."""
    cands = [s for s in layout(ctx.tree).sites if isinstance(s.node, ast.Compare)]
    if not cands:
        return None
    site = ctx.rng.choice(cands)
    node = site.node
    assert isinstance(node, ast.Compare)
    i = ctx.rng.randrange(len(node.ops))
    old = node.ops[i]
    pool = [op for op in COMPARE + [ast.Eq, ast.NotEq] if not isinstance(old, op)]
    weights = [0.3 if op in (ast.Eq, ast.NotEq) else 1.0 for op in pool]
    node.ops[i] = ctx.rng.choices(pool, weights)[0]()
    return f"comparison {_op_text(old)} -> {_op_text(node.ops[i])} in line {ctx.line(site.stmt)}"


def m_replace(ctx: Context) -> str | None:
    """Replace a sub-expression with a random expression over the names in scope."""
    sites = layout(ctx.tree).sites
    if not sites:
        return None
    site = ctx.rng.choices(sites, [1.0 + s.depth for s in sites])[0]  # prefer small, deep ones
    old = short(site.node)
    site.replace(ctx.grammar_at(site).expr(ctx.rng.randint(1, 3)))
    return f"replaced `{old}` with `{short(site.node)}` in line {ctx.line(site.stmt)}"


def m_wrap(ctx: Context) -> str | None:
    """Put an expression inside a bigger one (a conditional, an operation, a function)."""
    sites = layout(ctx.tree).sites
    if not sites:
        return None
    site = ctx.rng.choices(sites, _depth_weights(sites))[0]
    old = short(site.node)
    new, kind = ctx.grammar_at(site).wrap(site.node)
    site.replace(new)
    return f"wrapped `{old}` in {kind}: `{short(new)}` in line {ctx.line(site.stmt)}"


def m_unwrap(ctx: Context) -> str | None:
    """Replace an expression by one of its own sub-expressions (shrinks the program)."""
    sites = layout(ctx.tree).sites
    pairs = []
    for s in sites:
        inner = {id(n) for n in ast.walk(s.node) if n is not s.node}
        readable = set(names_in_scope(ctx.block, s.func, s.stmt.lineno)) | ctx.globals
        # Not a comprehension's loop variable out of its comprehension.
        pairs += [(s, d) for d in sites if id(d.node) in inner and names_of(d.node) <= readable]
    if not pairs:
        return None
    outer, part = ctx.rng.choice(pairs)
    old = short(outer.node)
    outer.replace(copy.deepcopy(part.node))
    return f"simplified `{old}` to `{short(outer.node)}` in line {ctx.line(outer.stmt)}"


def _removable(ctx: Context, slot: Slot) -> bool:
    stmt = slot.stmt
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
        return False
    real = [s for s in slot.body if not is_docstring(s)]
    if len(real) < 2 or (isinstance(stmt, ast.Return) and stmt is slot.body[-1]):
        return False
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        # Removing the only binding of a name that is read later breaks the program.
        bound = {
            n.id
            for t in getattr(stmt, "targets", [getattr(stmt, "target", None)])
            for n in ast.walk(t)
            if isinstance(n, ast.Name)
        }
        known = set(names_in_scope(ctx.block, slot.func, stmt.lineno))
        later = set().union(*(names_of(s) for s in slot.body[slot.index + 1 :]))
        return not ((bound - known) & later)
    return True


def m_delete(ctx: Context) -> str | None:
    """Delete a statement (never a function, an import, a body's last return, or the
    assignment of a name read later)."""
    slots = [s for s in layout(ctx.tree).slots if _removable(ctx, s)]
    if not slots:
        return None
    slot = ctx.rng.choice(slots)
    stmt = slot.body.pop(slot.index)
    return f"deleted line {ctx.line(stmt)}: `{short(stmt)}`"


def m_duplicate(ctx: Context) -> str | None:
    """Repeat an assignment with a changed value right after it (``x = f`` then
    ``x = g(x)``-like), so the copy refines rather than restates."""
    lay = layout(ctx.tree)
    slots = [s for s in lay.slots if isinstance(s.stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and s.stmt.value]
    if not slots:
        return None
    slot = ctx.rng.choice(slots)
    dup = copy.deepcopy(slot.stmt)
    assert isinstance(dup, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and dup.value is not None
    gram = ctx.grammar(slot.func, slot.stmt.lineno + 1)
    dup.value, _ = gram.wrap(dup.value) if ctx.rng.random() < 0.5 else (gram.tweak(dup.value), "")
    slot.body.insert(slot.index + 1, dup)
    return f"duplicated line {ctx.line(slot.stmt)} as `{short(dup)}`"


def m_insert(ctx: Context) -> str | None:
    """Assign a random expression to a new local and use it in the next statement."""
    lay = layout(ctx.tree)
    users = {id(s.stmt): s for s in lay.sites}
    slots = [s for s in lay.slots if id(s.stmt) in users and not isinstance(s.stmt, (ast.FunctionDef, ast.ClassDef))]
    if not slots:
        return None
    slot = ctx.rng.choice(slots)
    taken = {n.id for n in ast.walk(ctx.tree) if isinstance(n, ast.Name)} | set(ctx.block.outer_args)
    name = next(f"v{k}" for k in range(1000) if f"v{k}" not in taken)
    gram = ctx.grammar(slot.func, slot.stmt.lineno)
    value = gram.expr(ctx.rng.randint(1, 3))
    for _ in range(5):  # an expression reading no variable is rarely worth a name
        if names_of(value) - set(ctx.globals):
            break
        value = gram.expr(ctx.rng.randint(1, 3))
    stmt = slot.stmt
    targets = [s for s in lay.sites if s.stmt is stmt]
    use = ctx.rng.choices(targets, _depth_weights(targets))[0]
    ref: ast.expr = ast.Name(name, ast.Load())
    if ctx.rng.random() < 0.7:
        ref = ast.BinOp(copy.deepcopy(use.node), ctx.rng.choice([ast.Add, ast.Sub, ast.Mult])(), ref)
    use.replace(ref)
    slot.body.insert(slot.index, ast.Assign([ast.Name(name, ast.Store())], value, lineno=0))
    return f"new local `{name} = {short(value)}` used in line {ctx.line(stmt) + 1}"


MUTATIONS: dict[str, Callable[[Context], str | None]] = {
    "constant": m_constant,
    "operator": m_operator,
    "compare": m_compare,
    "replace": m_replace,
    "wrap": m_wrap,
    "unwrap": m_unwrap,
    "delete": m_delete,
    "duplicate": m_duplicate,
    "insert": m_insert,
}

DEFAULT_WEIGHTS: dict[str, float] = {
    # Checked on online bin packing (benchmarks/gp_experiment.py): wraps build structure
    # (conditionals, clipping), constant steps then tune it and improve a parent most
    # often per evaluation; operator swaps are mostly neutral there, so they are rarer.
    "constant": 3.0,
    "operator": 1.2,
    "compare": 1.0,
    "replace": 2.0,
    "wrap": 2.5,
    "unwrap": 1.0,
    "delete": 0.5,
    "duplicate": 0.4,
    "insert": 0.8,
}
SHRINKING = ("unwrap", "delete")


def mutate(ctx: Context, weights: dict[str, float]) -> tuple[str, str] | None:
    """Apply one mutation, chosen by weight among those that apply: (kind, description)."""
    pool = {k: w for k, w in weights.items() if w > 0 and k in MUTATIONS}
    if ctx.seed_size:
        # Shrinking is pointless on a seed-sized block and urgent on a bloated one.
        factor = min(2.0, max(0.25, size(ctx.tree) / (2.0 * ctx.seed_size)))
        pool = {k: w * factor if k in SHRINKING else w for k, w in pool.items()}
    while pool:
        kind = ctx.rng.choices(list(pool), list(pool.values()))[0]
        done = MUTATIONS[kind](ctx)
        if done is not None:
            ast.fix_missing_locations(ctx.tree)
            ctx.block.reparse()
            return kind, done
        del pool[kind]
    return None


def _np_func(ctx: Context, node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == ctx.np_alias
    ):
        return node.func.attr
    return None


_OPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Lt: "<",
    ast.Gt: ">",
    ast.LtE: "<=",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}


def _op_text(op: ast.AST) -> str:
    return _OPS.get(type(op), type(op).__name__)
