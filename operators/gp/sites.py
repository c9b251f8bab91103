"""Where a block may change: expression sites, statement slots, and names in scope.

Only value positions are sites: never a call's callee, an attribute's owner (``np`` in
``np.abs``), an assignment target, a subscript index, an annotation, a string or a
docstring; swapping those out almost always breaks the program without exploring
anything.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TypeGuard

from evolve.operators.gp.source import Block, arg_names

_CONTAINERS = (ast.Tuple, ast.List, ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SKIP = (ast.JoinedStr, ast.Lambda, ast.Starred, ast.Slice, ast.FormattedValue, ast.Yield, ast.YieldFrom, ast.Await)


@dataclass
class Site:
    """An expression in a value position, and how to put another one there."""

    node: ast.expr
    parent: ast.AST
    field: str
    index: int | None
    stmt: ast.stmt
    func: ast.FunctionDef | ast.AsyncFunctionDef | None
    depth: int
    """How many expressions enclose this one inside its statement."""

    def replace(self, new: ast.expr) -> None:
        if self.index is None:
            setattr(self.parent, self.field, new)
        else:
            getattr(self.parent, self.field)[self.index] = new
        self.node = new


@dataclass
class Slot:
    """A statement inside a statement list (a body), and its position there."""

    body: list[ast.stmt]
    index: int
    func: ast.FunctionDef | ast.AsyncFunctionDef | None

    @property
    def stmt(self) -> ast.stmt:
        return self.body[self.index]


@dataclass
class Layout:
    sites: list[Site] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=list)


def number_of(node: ast.AST) -> int | float | None:
    """The value of a numeric literal (not a bool), else None."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    return None


def is_number(node: ast.AST) -> TypeGuard[ast.Constant]:
    return number_of(node) is not None


def is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


class _Collector:
    def __init__(self) -> None:
        self.layout = Layout()

    def body(self, stmts: list[ast.stmt], func) -> None:
        for i, stmt in enumerate(stmts):
            if is_docstring(stmt):
                continue
            self.layout.slots.append(Slot(stmts, i, func))
            self.stmt(stmt, func)

    def stmt(self, stmt: ast.stmt, func) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.layout.functions.append(stmt)
            self.body(stmt.body, stmt)
            return
        if isinstance(stmt, ast.ClassDef):
            self.body(stmt.body, func)
            return
        for name, value in ast.iter_fields(stmt):
            if name in ("targets", "target", "annotation", "names", "optional_vars", "type_comment"):
                continue
            if isinstance(value, ast.expr):
                self.expr(value, stmt, name, None, stmt, func, 0)
            elif isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self.body(value, func)
            elif isinstance(value, list):
                for j, item in enumerate(value):
                    if isinstance(item, ast.expr):
                        self.expr(item, stmt, name, j, stmt, func, 0)
                    elif isinstance(item, ast.withitem):
                        self.expr(item.context_expr, item, "context_expr", None, stmt, func, 0)
                    elif isinstance(item, ast.ExceptHandler):
                        self.body(item.body, func)
                    elif isinstance(item, ast.match_case):
                        self.body(item.body, func)

    def expr(self, node: ast.expr, parent, fld: str, index, stmt, func, depth: int) -> None:
        if isinstance(node, _SKIP) or getattr(node, "ctx", None).__class__ in (ast.Store, ast.Del):
            return
        if isinstance(node, ast.Constant) and not is_number(node):
            return
        # What a loop iterates over must stay iterable: change its insides, not it.
        iterated = fld == "iter" and isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension))
        if not isinstance(node, _CONTAINERS) and not iterated:
            self.layout.sites.append(Site(node, parent, fld, index, stmt, func, depth))
        if isinstance(node, ast.Attribute):
            return  # ``np`` in ``np.abs`` is not a value to replace
        for name, value in ast.iter_fields(node):
            if (isinstance(node, ast.Call) and name == "func") or (isinstance(node, ast.Subscript) and name == "slice"):
                continue
            if isinstance(value, ast.expr):
                self.expr(value, node, name, None, stmt, func, depth + 1)
            elif isinstance(value, list):
                for j, item in enumerate(value):
                    if isinstance(item, ast.expr):
                        self.expr(item, node, name, j, stmt, func, depth + 1)
                    elif isinstance(item, ast.keyword):
                        self.expr(item.value, item, "value", None, stmt, func, depth + 1)
                    elif isinstance(item, ast.comprehension):
                        self.expr(item.iter, item, "iter", None, stmt, func, depth + 1)


def layout(tree: ast.Module) -> Layout:
    c = _Collector()
    c.body(tree.body, None)
    return c.layout


def _bound_names(stmts: list[ast.stmt], before: int) -> list[str]:
    """Names assigned by statements of this body (and nested blocks, not nested
    functions or comprehensions) that start before line ``before``."""
    out: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.lineno < before:
            out.append(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in stmts:
        if stmt.lineno < before:
            visit(stmt)
    return out


def names_in_scope(block: Block, func, line: int) -> list[str]:
    """Variables a new expression at ``line`` may read: enclosing parameters, earlier
    locals of the function, earlier module-level names of the block. Ordered, unique."""
    assert block.tree is not None
    names = list(block.outer_args)
    if func is not None:
        names += arg_names(func.args)
        names += _bound_names(func.body, line)
    names += _bound_names(block.tree.body, line)
    funcs = {n.name for n in ast.walk(block.tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return [n for n in dict.fromkeys(names) if n not in funcs and not n.startswith("_")]
