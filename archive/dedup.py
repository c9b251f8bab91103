"""Exact-duplicate detection: programs that differ only in formatting hash equal.

The hash is over a normal form: the code parsed with ``ast`` and printed back with
``ast.unparse``, so comments, blank lines, quote style, parentheses and spacing do not
matter (docstrings do: they are string constants a program can read). Code that does
not parse (a broken child is still stored) falls back to its text with all whitespace
removed, which still catches copies that only re-indent or re-space.
"""

from __future__ import annotations

import ast
import hashlib
import re
import warnings

_SPACE = re.compile(r"\s+")


def normalize(code: str) -> str:
    """The normal form ``code_hash`` is computed over."""
    try:
        with warnings.catch_warnings():
            # Odd escapes in candidate code must not spam the engine's log.
            warnings.simplefilter("ignore")
            return ast.unparse(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "\0raw\0" + _SPACE.sub("", code)


def code_hash(code: str) -> str:
    """SHA-256 hex digest of ``normalize(code)``."""
    return hashlib.sha256(normalize(code).encode("utf-8", "surrogatepass")).hexdigest()
