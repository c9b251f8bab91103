"""AlphaEvolve-style SEARCH/REPLACE diffs: parse them from a reply and apply them.

A reply holds one or more blocks::

    <<<<<<< SEARCH
    exact lines of the current program
    =======
    the lines to put in their place
    >>>>>>> REPLACE

Models copy code imperfectly, so matching tries, in order: the exact text, the lines
ignoring trailing whitespace, then the lines ignoring indentation (the replacement is
re-indented by the same offset). Where the text occurs several times, a match inside an
EVOLVE-BLOCK region wins. Whether the result still respects the fixed skeleton is checked
by the caller against the problem's template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evolve.errors import ProblemError
from evolve.problems.blocks import split

_BLOCK = re.compile(
    r"^[ \t]*<{5,9}[ \t]*SEARCH[ \t]*\r?\n(.*?)^[ \t]*={5,9}[ \t]*\r?\n(.*?)^[ \t]*>{5,9}[ \t]*REPLACE[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


class DiffError(ValueError):
    """The reply's diff cannot be applied; the message says why (shown as the rejection reason)."""


@dataclass(frozen=True)
class Edit:
    search: str
    replace: str


def has_diff(text: str) -> bool:
    return _BLOCK.search(text) is not None


def parse_diff(text: str) -> list[Edit]:
    edits = []
    for m in _BLOCK.finditer(text):
        search, replace = _unfence(m.group(1)), _unfence(m.group(2))
        edits.append(Edit(search, replace))
    if not edits:
        if "<<<<<<< SEARCH" in text or "SEARCH" in text and "REPLACE" in text:
            raise DiffError("the reply has a malformed SEARCH/REPLACE block (missing ======= or >>>>>>> REPLACE)")
        raise DiffError("the reply has no SEARCH/REPLACE block")
    return edits


def _unfence(section: str) -> str:
    """Drop code-fence lines a model put inside a SEARCH or REPLACE section."""
    lines = section.splitlines(keepends=True)
    while lines and _FENCE.match(lines[0]):
        lines.pop(0)
    while lines and _FENCE.match(lines[-1]):
        lines.pop()
    return "".join(lines)


def apply_diff(program: str, edits: list[Edit]) -> str:
    """Apply the edits in order; DiffError names the first one that does not match."""
    for number, edit in enumerate(edits, 1):
        if not edit.search.strip():
            raise DiffError(f"SEARCH block {number} is empty: it must quote lines of the current program")
        program = _apply_one(program, edit, number)
    return program


def _apply_one(program: str, edit: Edit, number: int) -> str:
    regions = _editable(program)
    # 1. exact text
    # (a hit preceded on its line by indentation only means the quote lost its indent:
    # the line-based pass re-indents the replacement)
    hits = [
        m.start()
        for m in re.finditer(re.escape(edit.search), program)
        if not _line_prefix(program, m.start()) or _line_prefix(program, m.start()).strip()
    ]
    if hits:
        start = _prefer(hits, len(edit.search), regions)
        return program[:start] + edit.replace + program[start + len(edit.search) :]
    # 2./3. line by line, first ignoring trailing whitespace, then indentation too
    lines = program.splitlines(keepends=True)
    wanted = _trim_blank(edit.search.splitlines())
    if not wanted:
        raise DiffError(f"SEARCH block {number} is empty: it must quote lines of the current program")
    for loose in (False, True):
        key = (lambda s: s.strip()) if loose else (lambda s: s.rstrip())
        target = [key(w) for w in wanted]
        starts = [
            i
            for i in range(len(lines) - len(target) + 1)
            if all(key(lines[i + j]) == target[j] for j in range(len(target)))
        ]
        if not starts:
            continue
        offsets = [sum(len(x) for x in lines[:i]) for i in starts]
        span = sum(len(x) for x in lines[starts[0] : starts[0] + len(target)])
        first = starts[offsets.index(_prefer(offsets, span, regions))]
        matched = lines[first : first + len(target)]
        replacement = edit.replace.splitlines()
        if loose:
            replacement = _reindent(replacement, wanted, matched)
        text = "".join(line + "\n" for line in replacement)
        if matched and not matched[-1].endswith("\n"):
            text = text[:-1]  # the match ended the file without a newline
        return "".join(lines[:first]) + text + "".join(lines[first + len(target) :])
    first_line = next((w.strip() for w in wanted if w.strip()), "")
    raise DiffError(f"SEARCH block {number} does not match the program (it starts with {first_line[:80]!r})")


def _line_prefix(text: str, pos: int) -> str:
    return text[text.rfind("\n", 0, pos) + 1 : pos]


def _trim_blank(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindent(replacement: list[str], searched: list[str], matched: list[str]) -> list[str]:
    """Shift the replacement by the indentation difference between what was quoted and what matched."""
    s = next((x for x in searched if x.strip()), "")
    m = next((x for x in matched if x.strip()), "")
    have, want = _indent(s), _indent(m.rstrip("\r\n"))
    out = []
    for line in replacement:
        if not line.strip():
            out.append("")
        elif line.startswith(have):
            out.append(want + line[len(have) :])
        else:
            out.append(want + line.lstrip())
    return out


def _editable(program: str) -> list[tuple[int, int]]:
    """Character spans of the program's EVOLVE-BLOCK regions (the whole text if unmarked)."""
    try:
        template = split(program)
    except ProblemError:
        return []
    if not template.marked:
        return [(0, len(program))]
    spans, pos = [], len(template.skeleton[0])
    for block, tail in zip(template.blocks, template.skeleton[1:]):
        spans.append((pos, pos + len(block)))
        pos += len(block) + len(tail)
    return spans


def _prefer(starts: list[int], length: int, regions: list[tuple[int, int]]) -> int:
    """The first match lying inside an editable region, else the first match."""
    for start in starts:
        if any(lo <= start and start + length <= hi for lo, hi in regions):
            return start
    return starts[0]
