"""EVOLVE-BLOCK regions: split a program into a fixed skeleton and evolvable blocks.

Where a program has ``# EVOLVE-BLOCK-START`` / ``# EVOLVE-BLOCK-END`` markers only the
code between them may change; the engine rebuilds every child from the seed's skeleton
plus the child's blocks, so an operator can never alter the fixed parts. A program
without markers is one block covering everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evolve.errors import ProblemError

START = "# EVOLVE-BLOCK-START"
END = "# EVOLVE-BLOCK-END"
_MARKER = re.compile(r"^[ \t]*# EVOLVE-BLOCK-(START|END)[^\n]*\n?", re.MULTILINE)


@dataclass(frozen=True)
class Template:
    """A program cut at its markers: ``skeleton[0] block[0] skeleton[1] ... skeleton[n]``.

    The marker lines belong to the skeleton, so rebuilding keeps them and a child can be
    split again with the same template.
    """

    skeleton: tuple[str, ...]
    blocks: tuple[str, ...]
    marked: bool

    def rebuild(self, blocks: list[str] | tuple[str, ...]) -> str:
        if len(blocks) != len(self.blocks):
            raise ValueError(f"expected {len(self.blocks)} blocks, got {len(blocks)}")
        parts = [self.skeleton[0]]
        for block, tail in zip(blocks, self.skeleton[1:]):
            if block and not block.endswith("\n"):
                block += "\n"
            parts += [block, tail]
        return "".join(parts)

    def blocks_of(self, program: str) -> list[str]:
        """The blocks of a program built from this template, or ValueError if its
        skeleton differs (an edit outside the evolve blocks)."""
        other = split(program)
        if other.skeleton != self.skeleton:
            raise ValueError("the program changes code outside its EVOLVE-BLOCK regions")
        return list(other.blocks)


def split(program: str) -> Template:
    """Cut a program at its EVOLVE-BLOCK markers; raises ProblemError if unbalanced."""
    marks = list(_MARKER.finditer(program))
    if not marks:
        return Template(skeleton=("", ""), blocks=(program,), marked=False)
    skeleton: list[str] = []
    blocks: list[str] = []
    pos = 0
    expect = "START"
    for m in marks:
        kind = m.group(1)
        if kind != expect:
            line = program.count("\n", 0, m.start()) + 1
            raise ProblemError(f"unbalanced EVOLVE-BLOCK markers at line {line}: expected EVOLVE-BLOCK-{expect}")
        if kind == "START":
            skeleton.append(program[pos : m.end()])
            pos, expect = m.end(), "END"
        else:
            blocks.append(program[pos : m.start()])
            pos, expect = m.start(), "START"  # the END line belongs to the next skeleton part
    if expect == "END":
        raise ProblemError("an EVOLVE-BLOCK-START has no matching EVOLVE-BLOCK-END")
    skeleton.append(program[pos:])
    return Template(skeleton=tuple(skeleton), blocks=tuple(blocks), marked=True)
