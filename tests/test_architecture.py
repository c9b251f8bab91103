"""The boundaries DESIGN.md draws, checked on the source: SQL stays in archive/, nobody
reaches into the archive's private plumbing, and the modules every package imports sit
at the bottom of the import graph."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("evolve", "archive", "operators", "problems", "sandbox")
# Archive internals: only the archive's own classes call these, on ``self``.
PRIVATE_ARCHIVE = {"_read", "_write", "_upsert", "_engine", "_read_engine", "_write_engine", "_next_positions"}
PRIVATE_ARCHIVE |= {"_insert_program", "_insert_calls", "_insert_bulk"}


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sources_are_found():
    assert len(_sources(*PACKAGES)) > 50


@pytest.mark.parametrize("path", _sources("evolve", "operators", "problems", "sandbox"), ids=lambda p: str(p))
def test_no_sql_outside_the_archive(path):
    used = {n for n in _imports(ast.parse(path.read_text())) if n.split(".")[0] in ("sqlalchemy", "alembic")}
    assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}: SQL belongs in archive/"


@pytest.mark.parametrize("path", _sources("evolve", "operators", "problems", "sandbox", "benchmarks"), ids=str)
def test_no_private_archive_calls_outside_it(path):
    tree = ast.parse(path.read_text())
    reach_ins = [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in PRIVATE_ARCHIVE
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert not reach_ins, f"{path.relative_to(ROOT)} reaches into the archive: {reach_ins}"


@pytest.mark.parametrize("module", ["evolve/errors.py", "evolve/constants.py", "evolve/registry.py"])
def test_bottom_of_the_import_graph(module):
    path = ROOT / module
    if not path.exists():
        pytest.fail(f"{module} is missing")
    own = {n for n in _imports(ast.parse(path.read_text())) if n.split(".")[0] == "evolve"}
    allowed = {"evolve.errors"} if module == "evolve/registry.py" else set()
    assert own <= allowed, f"{module} imports {sorted(own - allowed)} from the project"
