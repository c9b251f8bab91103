"""The loader: built-ins, user directories, and one clear ProblemError per mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evolve.errors import ProblemError
from evolve.problems import Problem, builtin_problems, load_problem
from evolve.problems.loader import builtin_anchors

SMALL = '''\
"""Find x maximising -(x - 3)^2 + offset, for each offset."""
OBJECTIVE = "value"
ENTRY_POINT = "solve"
CASES = [0.0, 1.0]
CASE_SETS = {"one": [5.0]}
TIME_LIMIT = 2.0

INITIAL_PROGRAM = """
# EVOLVE-BLOCK-START
def solve(offset):
    return 0.0
# EVOLVE-BLOCK-END
"""


def score(outputs, cases):
    xs = [float(x) for x in outputs]
    return {"value": sum(-(x - 3) ** 2 + c for x, c in zip(xs, cases)) / len(xs)}
'''


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def test_builtins_are_listed_and_load():
    names = builtin_problems()
    assert set(names) == {
        "bin_packing",
        "circle_packing",
        "circle_packing_32",
        "cap_set",
        "autocorrelation_c1",
        "tsp",
        "symbolic_regression",
    }
    assert all(isinstance(s, str) and s and "\n" not in s for s in names.values())
    anchors = builtin_anchors()
    assert set(anchors) == set(names)
    assert all(isinstance(a, str) and a and "\n" not in a and any(c.isdigit() for c in a) for a in anchors.values())
    for name in names:
        problem = load_problem(name)
        assert isinstance(problem, Problem) and problem.name == name
        assert problem.source == f"builtin:{name}"
        assert problem.template.marked
    assert load_problem("circle-packing").name == "circle_packing"


def test_case_sets():
    assert len(load_problem("bin_packing", case_set="weibull5k").cases) == 5
    with pytest.raises(ProblemError, match=r"no case set 'nope' \(known: or3, or3_small, weibull5k\)"):
        load_problem("bin_packing", case_set="nope")


def test_a_twenty_line_problem_directory_loads_and_scores(tmp_path, inproc):
    assert len(SMALL.splitlines()) <= 20
    folder = write(tmp_path / "parabola", {"problem.py": SMALL})
    for spec in (folder, str(folder), folder / "problem.py"):
        problem = load_problem(spec)
        assert problem.name == "parabola" and problem.objective == "value" and problem.direction == "max"
        assert problem.entry_point == "solve" and problem.time_limit == 2.0
        assert problem.description.startswith("Find x maximising")
        assert problem.source == str((folder / "problem.py").resolve())
    outputs = inproc(problem)
    assert outputs == [0.0, 0.0]  # the default harness calls solve(case)
    assert problem.checked_score(outputs, problem.cases) == {"value": -8.5}
    assert load_problem(folder, case_set="one").cases == [5.0]


def test_sibling_files_and_helpers_next_to_problem_py(tmp_path, inproc):
    folder = write(
        tmp_path / "sib",
        {
            "problem.py": """
                from helper import OBJ
                NAME = "sib"
                OBJECTIVE = OBJ
                DIRECTION = "min"
                def score(outputs, cases):
                    return {OBJ: float(outputs[0])}
            """,
            "helper.py": "OBJ = 'cost'\n",
            "initial_program.py": "def main():\n    return 7\n",
            "harness.py": "def run(program, case):\n    return program.main() * 2\n",
        },
    )
    problem = load_problem(folder)
    assert problem.direction == "min" and problem.objective == "cost"
    assert problem.checked_score(inproc(problem), problem.cases) == {"cost": 14.0}


def test_problem_object_and_make_problem(tmp_path):
    folder = write(
        tmp_path / "made",
        {
            "problem.py": """
                from evolve.problems import Problem
                def make_problem():
                    return Problem(name="made", description="d", initial_program="def main():\\n    return 1\\n",
                                   harness="def run(program, case):\\n    return program.main()\\n",
                                   cases=[None], score=lambda o, c: {"v": 1.0}, objective="v")
            """
        },
    )
    made = load_problem(folder)
    assert made.name == "made" and made.source == str((folder / "problem.py").resolve())
    assert load_problem(made) is made


@pytest.mark.parametrize(
    "files, message",
    [
        ({"problem.py": "x = (\n"}, r"problem\.py has a syntax error at line 1"),
        (
            {"problem.py": "import not_a_real_module_xyz\n"},
            r"line 1: No module named 'not_a_real_module_xyz'; install the missing module",
        ),
        ({"problem.py": "X = 1\n\nraise RuntimeError('boom')\n"}, r"raised RuntimeError at line 3 while loading: boom"),
        ({"problem.py": "X = 1\n"}, r"defines no problem: add `problem = Problem\(\.\.\.\)`"),
        ({"problem.py": "problem = 42\n"}, r"`problem` is a int, not a problems\.contract\.Problem"),
        ({"problem.py": "def make_problem():\n    return {}\n"}, r"make_problem\(\) is a dict, not a"),
        ({"problem.py": "def make_problem():\n    1 / 0\n"}, r"make_problem\(\) raised ZeroDivisionError at line 2"),
        ({"problem.py": "def score(o, c):\n    return {}\n"}, r"defines score\(\) but no OBJECTIVE"),
        ({"problem.py": "OBJECTIVE = 'v'\ndef score(o, c):\n    return {}\n"}, r"no seed program; set INITIAL_PROGRAM"),
        (
            {"problem.py": "OBJECTIVE = 'v'\nINITIAL_PROGRAM = 'def main(:'\ndef score(o, c):\n    return {}\n"},
            r"initial_program has a syntax error at line 1",
        ),
        (
            {"problem.py": "OBJECTIVE='v'\nDIRECTION='up'\nINITIAL_PROGRAM='x=1'\ndef score(o, c):\n    return {}\n"},
            r"direction must be 'max' or 'min'",
        ),
        (
            {"problem.py": "OBJECTIVE = 'v'\nCASES = []\nINITIAL_PROGRAM = 'x = 1'\ndef score(o, c):\n    return {}\n"},
            r"has no cases",
        ),
        (
            {
                "problem.py": "OBJECTIVE='v'\nINITIAL_PROGRAM='# EVOLVE-BLOCK-START\\nx=1\\n'\ndef score(o, c):\n    return {}\n"
            },
            r"EVOLVE-BLOCK-START has no matching",
        ),
    ],
)
def test_each_mistake_gives_one_clear_problem_error(tmp_path, files, message):
    folder = write(tmp_path / "bad", files)
    with pytest.raises(ProblemError, match=message) as info:
        load_problem(folder)
    assert "\n" not in str(info.value)


def test_missing_paths_and_unknown_names(tmp_path):
    with pytest.raises(ProblemError, match=r"has no problem\.py .*: create one"):
        load_problem(tmp_path)
    with pytest.raises(ProblemError, match=r"problem path .*nowhere does not exist"):
        load_problem(str(tmp_path / "nowhere"))
    with pytest.raises(ProblemError, match=r"problem path .*missing\.py does not exist"):
        load_problem("missing.py")
    with pytest.raises(ProblemError, match=r"unknown problem 'bin_pack'.*built-in \(bin_packing, circle_packing, "):
        load_problem("bin_pack")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ProblemError, match=r"is not a Python file"):
        load_problem(tmp_path / "notes.txt")
    with pytest.raises(ProblemError, match=r"cannot load a problem from a int"):
        load_problem(3)  # type: ignore[arg-type]
    with pytest.raises(ProblemError, match=r"empty problem spec"):
        load_problem("")
