"""The distribution installs exactly one import package, ``evolve``.

The five folders (evolve/, archive/, operators/, problems/, sandbox/) stay at the
repository root but install as ``evolve``, ``evolve.archive``, ... so that installing
Evolve can never overwrite another distribution's ``archive`` or ``problems`` package.
"""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "evolve": "evolve",
    "archive": "evolve/archive",
    "operators": "evolve/operators",
    "problems": "evolve/problems",
    "sandbox": "evolve/sandbox",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("evolve_search-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"evolve"}


def test_every_source_file_is_in_the_wheel(wheel):
    """Each module and data file of the five folders lands under evolve/ (a package
    missing from pyproject's explicit list would silently drop a whole folder)."""
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(
        ["git", "ls-files", *FOLDERS], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    missing = []
    for path in tracked:
        if not path.endswith((".py", ".txt", ".json", ".mako", ".js", ".css", ".html", ".md")):
            continue
        folder, rest = path.split("/", 1)
        if f"{FOLDERS[folder]}/{rest}" not in names:
            missing.append(path)
    assert not missing


def test_installing_the_wheel_does_not_provide_archive_or_problems(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True, text=True
    )
    probe = (
        "import importlib.util as u;"
        "print([n for n in ('archive', 'operators', 'problems', 'sandbox') if u.find_spec(n)]);"
        "print(u.find_spec('evolve.archive') is not None, u.find_spec('evolve.problems.bin_packing') is not None)"
    )
    out = subprocess.run(
        [str(python), "-I", "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True True"
    failed = subprocess.run([str(python), "-I", "-c", "import archive"], cwd=tmp_path, capture_output=True, text=True)
    assert failed.returncode != 0 and "No module named 'archive'" in failed.stderr
