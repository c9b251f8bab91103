"""README.md's examples, read from the file itself so that the tests run what it says.

``blocks(lang)`` gives the fenced code blocks in order; ``inline(prefix)`` the inline
code spans that start with a command. A new example in the README is picked up by
tests/e2e/test_readme_examples.py without touching the tests, unless it needs a server
or a substitution that the test does not know yet: then the test fails and says which
line, and a rule goes into its table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int


def text() -> str:
    return README.read_text()


def blocks(lang: str | None = None) -> list[Block]:
    body = text()
    found = [Block(m.group(1), m.group(2), body.count("\n", 0, m.start()) + 1) for m in _FENCE.finditer(body)]
    return [b for b in found if lang is None or b.lang == lang]


def commands(block: Block) -> list[str]:
    """The shell commands of a bash block: one per line, comments dropped, ``a && b`` split."""
    out = []
    for line in block.text.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith("#"):
            out += [part.strip() for part in line.split("&&")]
    return out


def inline(prefix: str) -> list[str]:
    """Runnable inline code spans (outside fenced blocks) that start with ``prefix``:
    not synopses such as ``evolve best NAME [--top K]`` (placeholders in capitals)."""
    prose = _FENCE.sub("", text())
    spans = [m.group(1) for m in re.finditer(r"`([^`\n]+)`", prose) if m.group(1).startswith(prefix)]
    return [s for s in spans if not re.search(r"[\[|]|\b[A-Z][A-Z_]+\b", s)]
