"""Evolve blocks as ASTs: cut a program at its markers, parse each block, put it back.

A block is a run of complete statements at some indentation (a whole function, or the
body of a function the skeleton defines). It is dedented, parsed, transformed, unparsed
and re-indented to where it was; ``Program.rebuild`` then glues the skeleton back on, so
the code outside the blocks never changes.
"""

from __future__ import annotations

import ast
import builtins
import copy
import textwrap
from dataclasses import dataclass, field

from evolve.problems.blocks import Template, split


@dataclass
class Block:
    """One evolve block: its text, indentation and (when it parses alone) its AST."""

    text: str
    indent: str
    tree: ast.Module | None
    outer_args: list[str] = field(default_factory=list)
    """Arguments of a skeleton function the block sits inside (in scope everywhere)."""
    first_line: int = 1
    """Line of the program where the block starts (for readable descriptions)."""

    @property
    def mutable(self) -> bool:
        return self.tree is not None and bool(self.tree.body)

    @property
    def module(self) -> ast.Module:
        """The AST of a block that parses on its own (edits only touch those)."""
        if self.tree is None:
            raise ValueError("this evolve block does not parse on its own; it cannot be edited")
        return self.tree

    def copy(self) -> Block:
        return Block(self.text, self.indent, copy.deepcopy(self.tree), list(self.outer_args), self.first_line)

    def reparse(self) -> None:
        """Round-trip through source so every node has true line numbers again (scope
        lookups compare them) and odd hand-built trees are caught early."""
        if self.tree is not None:
            self.tree = ast.parse(ast.unparse(self.tree))

    def render(self) -> str:
        if self.tree is None:
            return self.text
        return textwrap.indent(ast.unparse(self.tree), self.indent) + "\n"


@dataclass
class Program:
    template: Template
    blocks: list[Block]
    np_alias: str | None = None
    """The name numpy is imported as, if it is."""
    globals: frozenset[str] = frozenset()
    """Module-level names (imports, functions, constants) and builtins: readable anywhere."""

    def rebuild(self) -> str:
        return self.template.rebuild([b.render() for b in self.blocks])

    def copy(self) -> Program:
        return Program(self.template, [b.copy() for b in self.blocks], self.np_alias, self.globals)


def _indent_of(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    first = lines[0]
    indent = first[: len(first) - len(first.lstrip())]
    # The common prefix of every non-blank line: dedent removes exactly that much.
    for ln in lines[1:]:
        while indent and not ln.startswith(indent):
            indent = indent[:-1]
    return indent


def _outer_args(full: ast.Module | None, first_line: int) -> list[str]:
    """Parameters of the innermost skeleton function containing ``first_line``."""
    if full is None:
        return []
    best: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in ast.walk(full):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            end = node.end_lineno or node.lineno
            if node.lineno < first_line <= end and (best is None or node.lineno > best.lineno):
                best = node
    return arg_names(best.args) if best is not None else []


def arg_names(args: ast.arguments) -> list[str]:
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [n for n in names if n not in ("self", "cls")]


def load(template: Template, code: str) -> Program:
    """Parse the blocks of ``code`` (built from ``template``); ValueError if the skeleton
    differs. Blocks that do not parse on their own are kept verbatim and never touched."""
    texts = template.blocks_of(code)
    try:
        full = ast.parse(code)
    except SyntaxError:
        full = None
    blocks: list[Block] = []
    line = 1
    for i, text in enumerate(texts):
        line += template.skeleton[i].count("\n")
        indent = _indent_of(text)
        try:
            tree = ast.parse(textwrap.dedent(text))
        except SyntaxError:
            tree = None
        blocks.append(Block(text, indent, tree, _outer_args(full, line) if indent else [], line))
        line += text.count("\n")
    alias, names = _module_names(full)
    return Program(template, blocks, alias, frozenset(names | set(dir(builtins))))


def _module_names(full: ast.Module | None) -> tuple[str | None, set[str]]:
    alias: str | None = None
    names: set[str] = set()
    for stmt in full.body if full is not None else []:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for a in stmt.names:
                bound = a.asname or a.name.split(".")[0]
                names.add(bound)
                if isinstance(stmt, ast.Import) and a.name == "numpy":
                    alias = bound
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return alias, names


def load_parent(initial_program: str, code: str) -> Program:
    return load(split(initial_program), code)


def normalise(code: str) -> str | None:
    """The program as ``ast.unparse`` writes it (comments and layout dropped)."""
    try:
        return ast.unparse(ast.parse(code))
    except SyntaxError:
        return None


def size(tree: ast.AST) -> int:
    return sum(1 for _ in ast.walk(tree))


def expr_depth(node: ast.AST) -> int:
    """Depth of the deepest expression chain (statements do not count)."""
    kids = [expr_depth(c) for c in ast.iter_child_nodes(node)]
    deepest = max(kids, default=0)
    return deepest + 1 if isinstance(node, ast.expr) else deepest
