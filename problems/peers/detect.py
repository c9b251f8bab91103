"""Recognise a problem folder written for another engine."""

from __future__ import annotations

from pathlib import Path

OPENEVOLVE = "openevolve"
SHINKA = "shinka"


def peer_kind(folder: str | Path) -> str | None:
    """``openevolve`` (initial_program.py + evaluator.py), ``shinka`` (initial.<ext> +
    evaluate.py), or None. A folder with a problem.py is Evolve's own and never a peer's."""
    path = Path(folder)
    if not path.is_dir() or (path / "problem.py").is_file():
        return None
    if (path / "evaluator.py").is_file() and _initial(path, OPENEVOLVE) is not None:
        return OPENEVOLVE
    if (path / "evaluate.py").is_file() and _initial(path, SHINKA) is not None:
        return SHINKA
    return None


def _initial(path: Path, kind: str) -> Path | None:
    if kind == OPENEVOLVE:
        found = sorted(path.glob("initial_program.*"))
    else:
        found = sorted(path.glob("initial.*"))
    return found[0] if found else None


def initial_program_path(path: Path, kind: str) -> Path | None:
    return _initial(path, kind)
