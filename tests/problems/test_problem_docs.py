"""Every built-in problem is documented where users look: `evolve problems`, the README
table and docs/problems.md, each with its anchor."""

from __future__ import annotations

from pathlib import Path

from evolve.problems import builtin_problems
from evolve.problems.loader import builtin_anchors
from tests.e2e.conftest import evolve_cli

ROOT = Path(__file__).resolve().parents[2]


def test_every_builtin_is_in_the_readme_and_the_problem_docs():
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "problems.md").read_text()
    for name in builtin_problems():
        assert f"| `{name}` |" in readme, name
        assert f"| `{name}` |" in docs, name
        assert f"## {name}" in docs or f", {name} " in docs, name


def test_evolve_problems_prints_each_anchor(tmp_path):
    out = evolve_cli("problems", cwd=tmp_path).stdout.replace("\n", " ")
    for name, anchor in builtin_anchors().items():
        assert name in out
        assert " ".join(anchor.split()[:4]) in " ".join(out.split())
