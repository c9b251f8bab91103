"""Load a Problem from a built-in name, a directory, a ``.py`` file or a Problem object.

A user's ``problem.py`` defines one of, in this order of preference:

1. ``problem = Problem(...)``;
2. ``def make_problem() -> Problem``;
3. module attributes, so that a small problem is a few lines::

       '''Maximise f(x) on [0, 1].'''          # the docstring is the DESCRIPTION
       OBJECTIVE = "value"                     # required
       DIRECTION = "max"                       # "max" (default) or "min"
       ENTRY_POINT = "solve"                   # default "main"
       CASES = [0.5, 2.0]                      # default [None]: one case, no input
       def score(outputs, cases):              # required, trusted
           return {"value": ...}

   plus optionally NAME (default: the directory's name), DESCRIPTION, INITIAL_PROGRAM
   (source text; default: the sibling ``initial_program.py``), HARNESS (source text;
   default: the sibling ``harness.py``, else a harness that returns
   ``program.ENTRY_POINT(case)``, or ``program.ENTRY_POINT()`` when the case is None),
   TIME_LIMIT, MEMORY_MB, CASE_SETS, and the functions ``drive``, ``descriptors``,
   ``feedback`` (see ``evolve.problems.contract.Problem``).

Loading never runs the seed program; the campaign evaluates it through the sandbox.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from evolve.errors import ProblemError
from evolve.problems.contract import Problem
from evolve.problems.registry import PROBLEMS, build_problem

log = logging.getLogger(__name__)


DEFAULT_HARNESS = """\
ENTRY_POINT = {entry!r}


def run(program, case):
    fn = getattr(program, ENTRY_POINT)
    return fn() if case is None else fn(case)
"""


def builtin_problems() -> dict[str, str]:
    """Registered problem names (the built-ins first) with a one-line summary each."""
    return PROBLEMS.summaries()


def builtin_anchors() -> dict[str, str]:
    """Registered problem names with a one-line statement of the published figures to
    compare against, and where they come from ("" when a problem states none)."""
    return {name: str(getattr(PROBLEMS.get(name), "ANCHOR", "")) for name in PROBLEMS.names()}


def load_problem(spec: str | Problem | os.PathLike, case_set: str | None = None) -> Problem:
    """The Problem that ``spec`` names, evaluating on ``case_set`` (None: its default cases)."""
    if isinstance(spec, Problem):
        problem = spec
    elif isinstance(spec, (str, os.PathLike)):
        problem = _from_name_or_path(os.fspath(spec))
    else:
        raise ProblemError(
            f"cannot load a problem from a {type(spec).__name__}: give a built-in name, a directory, "
            "a problem.py path or a Problem"
        )
    return problem.with_cases(case_set)


def _from_name_or_path(spec: str) -> Problem:
    if not spec.strip():
        raise ProblemError("empty problem spec: give a built-in name, a directory or a problem.py file")
    name = spec.strip().replace("-", "_")
    if name in PROBLEMS and not os.path.exists(spec):
        return _check(build_problem(name), f"built-in {name}")
    path = Path(spec).expanduser()
    if path.is_dir():
        file = path / "problem.py"
        if not file.is_file():
            from evolve.problems.peers import load_peer_folder, peer_kind

            if peer_kind(path) is not None:  # an OpenEvolve or ShinkaEvolve folder, run unchanged
                return load_peer_folder(path)
            raise ProblemError(
                f"directory {path} has no problem.py (nor an OpenEvolve evaluator.py + initial_program.py or a "
                "ShinkaEvolve evaluate.py + initial.py): create one defining `problem = Problem(...)` or "
                "`make_problem()`"
            )
    elif path.is_file():
        if path.suffix != ".py":
            raise ProblemError(f"{path} is not a Python file: give a problem directory or a problem.py file")
        file = path
    elif os.sep in spec or spec.endswith(".py") or spec.startswith("."):
        raise ProblemError(f"problem path {spec} does not exist: check the path")
    else:
        known = PROBLEMS.choices()
        raise ProblemError(f"unknown problem {spec!r}: give a directory, a problem.py file, or a built-in ({known})")
    module = _import_file(file.resolve())
    problem = _problem_of(module, file.resolve())
    if problem.source is None:
        problem.source = str(file.resolve())
    log.debug("loaded problem %s from %s", problem.name, problem.source)
    return problem


def _import_file(file: Path) -> ModuleType:
    """Execute a problem.py as a fresh module, its directory importable for helpers."""
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ProblemError(f"cannot read {file}: {e}") from None
    try:
        code = compile(text, str(file), "exec")
    except SyntaxError as e:
        raise ProblemError(f"{file} has a syntax error at line {e.lineno}: {e.msg}; fix it and retry") from None
    mod_name = "evolve_problem_" + hashlib.sha1(str(file).encode()).hexdigest()[:12]
    module = ModuleType(mod_name)
    module.__file__ = str(file)
    folder = str(file.parent)
    sys.path.insert(0, folder)
    sys.modules[mod_name] = module  # dataclasses and pickling look modules up here
    try:
        exec(code, module.__dict__)
    except ImportError as e:
        sys.modules.pop(mod_name, None)
        raise ProblemError(f"{file} line {_line_in(file)}: {e}; install the missing module or fix the import") from None
    except ProblemError as e:
        sys.modules.pop(mod_name, None)
        raise ProblemError(f"{file}: {e}") from None
    except Exception as e:
        sys.modules.pop(mod_name, None)
        raise ProblemError(
            f"{file} raised {type(e).__name__} at line {_line_in(file)} while loading: {e}; fix it and retry"
        ) from None
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    return module


def _line_in(file: Path) -> int | str:
    """The deepest traceback line inside ``file`` for the exception being handled."""
    frames = [f for f in traceback.extract_tb(sys.exc_info()[2]) if f.filename == str(file)]
    line = frames[-1].lineno if frames else None
    return "?" if line is None else line


def _problem_of(module: ModuleType, file: Path) -> Problem:
    where = str(file)
    if "problem" in module.__dict__:
        return _check(module.problem, f"{where}: `problem`")
    if callable(module.__dict__.get("make_problem")):
        try:
            made = module.make_problem()
        except ProblemError as e:
            raise ProblemError(f"{where}: {e}") from None
        except Exception as e:
            raise ProblemError(
                f"{where}: make_problem() raised {type(e).__name__} at line {_line_in(file)}: {e}; fix it and retry"
            ) from None
        return _check(made, f"{where}: make_problem()")
    if callable(module.__dict__.get("score")):
        return _from_attributes(module, file)
    raise ProblemError(
        f"{where} defines no problem: add `problem = Problem(...)`, `def make_problem()`, "
        "or `def score(outputs, cases)` with OBJECTIVE (see problems/loader.py)"
    )


def _check(obj: Any, what: str) -> Problem:
    if not isinstance(obj, Problem):
        raise ProblemError(f"{what} is a {type(obj).__name__}, not a problems.contract.Problem")
    return obj


def _from_attributes(module: ModuleType, file: Path) -> Problem:
    attrs = module.__dict__
    if "OBJECTIVE" not in attrs:
        raise ProblemError(f"{file} defines score() but no OBJECTIVE: add OBJECTIVE = '<metric name score returns>'")
    entry = attrs.get("ENTRY_POINT", "main")
    initial = _source(attrs, "INITIAL_PROGRAM", file.parent / "initial_program.py", file)
    if initial is None:
        raise ProblemError(f"{file}: no seed program; set INITIAL_PROGRAM or add initial_program.py next to it")
    harness = _source(attrs, "HARNESS", file.parent / "harness.py", file) or DEFAULT_HARNESS.format(entry=entry)
    optional = {
        key: attrs[attr]
        for key, attr in [
            ("time_limit", "TIME_LIMIT"),
            ("memory_mb", "MEMORY_MB"),
            ("case_sets", "CASE_SETS"),
            ("drive", "drive"),
            ("descriptors", "descriptors"),
            ("feedback", "feedback"),
        ]
        if attr in attrs
    }
    try:
        return Problem(
            name=attrs.get("NAME", file.parent.name),
            description=attrs.get("DESCRIPTION")
            or (module.__doc__ or "").strip()
            or attrs.get("NAME", file.parent.name),
            initial_program=initial,
            harness=harness,
            cases=list(attrs.get("CASES", [None])),
            score=module.score,
            objective=attrs["OBJECTIVE"],
            direction=attrs.get("DIRECTION", "max"),
            entry_point=entry,
            source=str(file),
            **optional,
        )
    except ProblemError as e:
        raise ProblemError(f"{file}: {e}") from None
    except TypeError as e:
        raise ProblemError(f"{file}: bad problem attribute ({e}); see problems/loader.py for the convention") from None


def _source(attrs: dict, attr: str, sibling: Path, file: Path) -> str | None:
    if attr in attrs:
        value = attrs[attr]
        if not isinstance(value, str):
            raise ProblemError(f"{file}: {attr} must be Python source text, not a {type(value).__name__}")
        return value
    if sibling.is_file():
        return sibling.read_text()
    return None
