"""Crossover: graft an expression or a statement of a donor block into the primary's.

Grafts are checked against scope (the donor material may only read names the primary
has at that point) and prefer material the primary does not already contain, so the
child mixes both parents instead of restating the primary.
"""

from __future__ import annotations

import ast
import copy
import random

from evolve.operators.gp.mutate import Context, short
from evolve.operators.gp.sites import Site, Slot, is_docstring, layout, names_in_scope
from evolve.operators.gp.source import Block

_FIXED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _reads(node: ast.AST) -> set[str]:
    """Names a node reads before binding them itself (roughly: loads minus its stores)."""
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    stores = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return loads  # ``x = x + 1`` reads x
    return loads - stores


def graft_expression(ctx: Context, donor: Block) -> str | None:
    """Replace an expression of the primary block with one from the donor."""
    rng = ctx.rng
    mine = layout(ctx.tree).sites
    theirs = layout(donor.module).sites
    if not mine or not theirs:
        return None
    present = {ast.unparse(s.node) for s in mine}
    novel = [s for s in theirs if ast.unparse(s.node) not in present]
    if not novel:
        return None
    for _ in range(12):
        target = rng.choice(mine)
        readable = set(names_in_scope(ctx.block, target.func, target.stmt.lineno)) | ctx.globals
        fits = [s for s in novel if _reads(s.node) <= readable]
        if not fits:
            continue
        # Homologous grafts (same kind of node, same place in a statement) keep the
        # child sensible; anything else still explores.
        weights = [_similarity(target, s) for s in fits]
        donor_site = rng.choices(fits, weights)[0]
        old = short(target.node)
        target.replace(copy.deepcopy(donor_site.node))
        return f"crossover: `{old}` -> `{short(target.node)}` from the other parent in line {ctx.line(target.stmt)}"
    return None


def _similarity(a: Site, b: Site) -> float:
    w = 1.0
    if type(a.node) is type(b.node):
        w *= 3.0
    if a.depth == b.depth:
        w *= 2.0
    if type(a.stmt) is type(b.stmt):
        w *= 1.5
    return w


def _body_for(ctx: Context, slot: Slot) -> tuple[list[ast.stmt], object] | None:
    """The primary's statement list that corresponds to the donor slot's: the body of
    the function with the same name, or the block's top level."""
    if slot.func is None:
        return ctx.tree.body, None
    for node in ast.walk(ctx.tree):
        if isinstance(node, type(slot.func)) and node.name == slot.func.name:
            return node.body, node
    return None


def graft_statement(ctx: Context, donor: Block) -> str | None:
    """Insert a donor statement at the matching place of the primary, replacing the
    primary's statement there when both assign the same names (or both return)."""
    rng = ctx.rng
    mine = {ast.unparse(s.stmt) for s in layout(ctx.tree).slots}
    slots = [
        s
        for s in layout(donor.module).slots
        if not isinstance(s.stmt, _FIXED) and not is_docstring(s.stmt) and ast.unparse(s.stmt) not in mine
    ]
    rng.shuffle(slots)
    for slot in slots[:8]:
        found = _body_for(ctx, slot)
        if found is None:
            continue
        body, func = found
        real = [i for i, s in enumerate(body) if not is_docstring(s)]
        if not real:
            continue
        pos = min(max(slot.index, real[0]), len(body))
        incoming = copy.deepcopy(slot.stmt)
        replace = _homologous(body, pos, incoming)
        if isinstance(incoming, ast.Return) or (pos == len(body) and isinstance(body[-1], ast.Return)):
            pos = len(body) - 1  # never after the return
            replace = isinstance(incoming, ast.Return) and isinstance(body[pos], ast.Return)
        line = body[pos].lineno if pos < len(body) else body[-1].lineno + 1
        readable = set(names_in_scope(ctx.block, func, line)) | ctx.globals
        if not _reads(incoming) <= readable:
            continue
        if replace:
            old = body[pos]
            body[pos] = incoming
            return f"crossover: line {ctx.line(old)} `{short(old)}` -> `{short(incoming)}` from the other parent"
        body.insert(pos, incoming)
        return f"crossover: inserted `{short(incoming)}` from the other parent at line {ctx.line(body[min(pos + 1, len(body) - 1)])}"
    return None


def _homologous(body: list[ast.stmt], pos: int, incoming: ast.stmt) -> bool:
    if pos >= len(body):
        return False
    here = body[pos]
    if isinstance(here, ast.Return) and isinstance(incoming, ast.Return):
        return True
    return isinstance(here, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and bool(_assigned(here) & _assigned(incoming))


def _assigned(stmt: ast.stmt) -> set[str]:
    targets = getattr(stmt, "targets", None) or [getattr(stmt, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}


def crossover(ctx: Context, donor: Block, rng: random.Random) -> str | None:
    """One graft, statement-level or expression-level; None when nothing fits."""
    order = [graft_statement, graft_expression] if rng.random() < 0.35 else [graft_expression, graft_statement]
    for graft in order:
        done = graft(ctx, donor)
        if done is not None:
            ast.fix_missing_locations(ctx.tree)
            ctx.block.reparse()
            return done
    return None
