"""Reading model replies: code blocks, the EoH thought line, and evolved blocks of a rewrite.

A rewrite (or crossover) reply normally holds the whole program in one fenced block, with
the ``# EVOLVE-BLOCK-START/END`` markers kept. The blocks are cut out of it and put back
into the problem's own skeleton, so the fixed code is never taken from the model; a reply
whose fixed code differs (beyond blank lines and trailing spaces) is rejected.
"""

from __future__ import annotations

import re
import textwrap

from evolve.errors import ProblemError
from evolve.problems.blocks import END, START, Template, split

_CODE = re.compile(r"^[ \t]*(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
_THOUGHT = re.compile(r"^[ \t>*_#-]*(?:thought|idea)[*_ ]*[:\-][*_ ]*(.+?)[*_ ]*$", re.IGNORECASE | re.MULTILINE)


class ReplyError(ValueError):
    """The reply cannot be turned into a program; the message is the rejection reason."""


def code_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks, in order (non-Python languages skipped)."""
    out = []
    for m in _CODE.finditer(text):
        lang = m.group(2).lower()
        if lang in ("", "python", "py", "python3"):
            out.append(m.group(3))
    return out


def without_code(text: str) -> str:
    return _CODE.sub("", text)


def extract_thought(text: str, limit: int = 300) -> str | None:
    """The EoH one-line idea: a 'THOUGHT: ...' (or 'IDEA: ...') line outside code, else
    None. Guessing from other prose stored noise (diff markers, tags, stray words)."""
    m = _THOUGHT.search(without_code(text))
    return _clip(m.group(1), limit) if m else None


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _norm(part: str) -> list[str]:
    return [line.rstrip() for line in part.splitlines() if line.strip()]


def program_code(text: str) -> str:
    """The program a reply holds: the fenced block with markers, else the longest one."""
    blocks = code_blocks(text)
    if not blocks:
        bare = "\n".join(line for line in text.splitlines() if not _THOUGHT.match(line))
        try:
            compile(bare, "<reply>", "exec")
        except SyntaxError:
            raise ReplyError("the reply has no ```python code block") from None
        return bare
    marked = [b for b in blocks if START in b]
    return max(marked or blocks, key=len)


def blocks_from_reply(template: Template, text: str) -> list[str]:
    """New contents for every evolve block of ``template``, taken from a rewrite reply."""
    blocks = code_blocks(text)
    code = program_code(text)
    n = len(template.blocks)
    if not template.marked:
        return [code]
    if START in code or END in code:
        try:
            theirs = split(code)
        except ProblemError as e:
            raise ReplyError(f"the reply breaks the EVOLVE-BLOCK markers: {e}") from None
        if len(theirs.blocks) != n:
            raise ReplyError(f"the reply has {len(theirs.blocks)} EVOLVE-BLOCK regions, the program has {n}")
        if [_norm(p) for p in theirs.skeleton] != [_norm(p) for p in template.skeleton]:
            raise ReplyError("the reply changes code outside the EVOLVE-BLOCK regions (the fixed skeleton)")
        return [_fit(new, old) for new, old in zip(theirs.blocks, template.blocks)]
    fixed = [line for part in template.skeleton for line in _norm(part) if START not in line and END not in line]
    if fixed and all(line in code for line in fixed):
        raise ReplyError("the reply drops the EVOLVE-BLOCK markers: keep the marker lines")
    if n == 1:
        return [_fit(code, template.blocks[0])]
    if len(blocks) == n:
        return [_fit(new, old) for new, old in zip(blocks, template.blocks)]
    raise ReplyError(f"the reply must give all {n} EVOLVE-BLOCK regions with their marker lines")


def _fit(new: str, old: str) -> str:
    """Indent a block the way the original sits (a model often dedents code it copies)."""
    old_lines = [line for line in old.splitlines() if line.strip()]
    if not old_lines:
        return new
    indent = min(len(line) - len(line.lstrip()) for line in old_lines)
    body = textwrap.dedent(new)
    return textwrap.indent(body, old_lines[0][: len(old_lines[0]) - len(old_lines[0].lstrip())][:indent])
