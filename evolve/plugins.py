"""Every plug-in registry in one place, and the documentation tables made from them.

    python -m evolve.plugins            # print the tables
    python -m evolve.plugins --write    # refresh the marked tables in README.md and docs/

A marked section in a Markdown file (``<!-- registry:KIND -->`` ... ``<!-- /registry -->``)
holds the table of one registry; ``tests/test_docs_registries.py`` fails when one of them
no longer matches, so the docs list exactly what the code registers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from evolve.archive.selection import SELECTION_POLICIES
from evolve.operators.registry import OPERATORS
from evolve.problems.registry import PROBLEMS
from evolve.registry import Registry
from evolve.sandbox.registry import SANDBOXES

REGISTRIES: dict[str, Registry[Any]] = {
    "selection": SELECTION_POLICIES,
    "operator": OPERATORS,
    "sandbox": SANDBOXES,
    "problem": PROBLEMS,
}
"""Kind -> registry: selection policies, operators, sandbox backends, problems."""

_HEADERS = {
    "selection": ("`selection =`", "parents are"),
    "operator": ("`operator =`", "children come from"),
    "sandbox": ("`sandbox =`", "candidates run in"),
    "problem": ("problem", "what it evolves"),
}
_SECTION = re.compile(r"(<!-- registry:(\w+) -->\n)(.*?)(<!-- /registry -->)", re.S)
DOCS = ("README.md", "docs/extending.md")


def table(kind: str) -> str:
    """The Markdown table of one registry: name and summary, in registration order
    (problems also say which published figures to compare against)."""
    registry = REGISTRIES[kind]
    name, what = _HEADERS[kind]
    if kind == "problem":
        rows = [f"| {name} | {what} | compare with |", "|---|---|---|"]
        rows += [
            f"| `{n}` | {registry.summary(n)} | {getattr(registry.get(n), 'ANCHOR', '')} |" for n in registry.names()
        ]
        return "\n".join(rows) + "\n"
    rows = [f"| {name} | {what} |", "|---|---|"]
    rows += [f"| `{n}` | {registry.summary(n)} |" for n in registry.names()]
    if kind == "sandbox":
        rows.append("| `auto` | Docker when a daemon answers, else the process backend (logged) |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` with every marked registry section replaced by the current table."""
    return _SECTION.sub(lambda m: m[1] + table(m[2]) + m[4], text)


def sections(text: str) -> dict[str, str]:
    """Kind -> the table a Markdown text holds for it now."""
    return {m[2]: m[3] for m in _SECTION.finditer(text)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--write" in args:
        root = Path(__file__).resolve().parents[1]
        for doc in DOCS:
            path = root / doc
            path.write_text(render(path.read_text()))
            print(f"updated {doc}")
        return 0
    for kind in REGISTRIES:
        print(f"## {kind}\n\n{table(kind)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
