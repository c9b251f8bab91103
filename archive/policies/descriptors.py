"""Built-in behaviour descriptors computed from code alone (cheap, no evaluation).

Problems can give better descriptors from what a program does (``Problem.descriptors``);
these are the fallback that always exists: the size of the program and a structural
signature of its syntax tree.
"""

from __future__ import annotations

import ast
import hashlib
import warnings

from evolve.archive.dedup import normalize

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_BRANCHES = (ast.If, ast.IfExp, ast.Match, ast.Try)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def code_length(code: str) -> float:
    """Characters of the normalised code (comments and formatting do not count)."""
    return float(len(normalize(code)))


def _parse(code: str) -> ast.AST | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _depth(node: ast.AST) -> int:
    stack, deepest = [(node, 1)], 0
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(n))
    return deepest


def ast_signature(code: str) -> dict[str, float]:
    """Counts that describe a program's shape: nodes, depth, loops, branches, calls,
    comprehensions, functions. Unparseable code gets zeros (one cell for all of it)."""
    tree = _parse(code)
    keys = ("ast_nodes", "ast_depth", "loops", "branches", "calls", "comprehensions", "functions")
    if tree is None:
        return dict.fromkeys(keys, 0.0)
    counts = dict.fromkeys(keys, 0.0)
    for node in ast.walk(tree):
        counts["ast_nodes"] += 1
        counts["loops"] += isinstance(node, _LOOPS)
        counts["branches"] += isinstance(node, _BRANCHES)
        counts["calls"] += isinstance(node, ast.Call)
        counts["comprehensions"] += isinstance(node, _COMPREHENSIONS)
        counts["functions"] += isinstance(node, _FUNCTIONS)
    counts["ast_depth"] = float(_depth(tree))
    return counts


def ast_shape_hash(code: str) -> str:
    """A hash of the tree's node types only (names and constants ignored): programs
    that differ only in identifiers or numbers share it."""
    tree = _parse(code)
    if tree is None:
        return "unparseable"
    kinds = ",".join(type(n).__name__ for n in ast.walk(tree))
    return hashlib.sha1(kinds.encode()).hexdigest()[:16]


def builtin_descriptors(code: str) -> dict[str, float]:
    """``code_length`` plus ``ast_signature``: what MAP-Elites uses by default."""
    return {"code_length": code_length(code), **ast_signature(code)}
