"""Where Evolve itself is installed: paths no candidate may read.

The package holds answer keys (the proven-optimal TSP tours, the law and seed behind
symbolic regression's held-out targets) and the code of every trusted scorer, so each
sandbox hides Evolve's own files, found from where Python imports them:

- the package directories: ``evolve`` and the folders that install as its subpackages
  (in a source checkout ``archive/``, ``operators/``, ``problems/``, ``sandbox/``);
- in every ``sys.path`` directory, the distribution's metadata and install helpers:
  ``evolve_search-*.dist-info`` (its RECORD lists every file), an editable install's
  ``.pth`` and path finder (and the finder's cached bytecode), a legacy ``.egg-link``;
- for an editable install, the whole project directory (``direct_url.json`` names it:
  tests, benchmarks and docs hold answers too) and, where the project is a git worktree,
  the repository's git directory (its objects hold every version of every file).

A candidate needs none of them: the runner reaches the sandbox as source. Only these are
hidden, never the directories around them: the interpreter and numpy live next to
``site-packages/evolve``.

Standard library only, and no import of Evolve: the Docker backend runs this file with a
user image's interpreter (``python -I package_paths.py`` prints the paths as JSON) to
find an Evolve installed in that image.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import sys
from urllib.parse import unquote, urlparse

TOP = "evolve"
# The subpackages that may live outside evolve/ (setuptools package-dir in pyproject.toml).
SUBPACKAGES = ("evolve.archive", "evolve.operators", "evolve.problems", "evolve.sandbox")
_DIST = re.compile(r"^evolve[-_]search(-[^/]*)?\.(dist-info|egg-info|egg-link)$", re.IGNORECASE)
_EDITABLE = re.compile(r"^__editable__[._]+evolve[-_]search", re.IGNORECASE)


def package_dirs() -> set[str]:
    """The directories Python imports ``evolve`` and its subpackages from. Subpackages are
    looked up only once ``evolve`` is imported (finding them imports it)."""
    names = [TOP]
    if TOP in sys.modules:
        names += [*SUBPACKAGES, *(n for n, m in list(sys.modules.items()) if n.startswith(TOP + ".") and m)]
    found: set[str] = set()
    for name in dict.fromkeys(names):
        module = sys.modules.get(name)
        if module is not None:
            locations = getattr(module, "__path__", None)
        else:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                continue
            locations = spec.submodule_search_locations if spec is not None else None
        found.update(os.path.realpath(p) for p in locations or ())
    return found


def _project_of(dist_info: str) -> str | None:
    """An editable install's project directory, from PEP 610's direct_url.json."""
    try:
        with open(os.path.join(dist_info, "direct_url.json")) as f:
            direct = json.load(f)
    except (OSError, ValueError):
        return None
    url = urlparse(str(direct.get("url", "")))
    if not (direct.get("dir_info") or {}).get("editable") or url.scheme != "file":
        return None
    return unquote(url.path) or None


def _egg_link_target(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.readline().strip() or None
    except OSError:
        return None


def installed_in(directory: str) -> tuple[set[str], set[str]]:
    """Evolve's entries in one ``sys.path`` directory, and the projects they point at."""
    entries: set[str] = set()
    projects: set[str] = set()
    try:
        names = os.listdir(directory)
    except OSError:
        return entries, projects
    for name in names:
        path = os.path.join(directory, name)
        if name == TOP and os.path.isdir(path):
            entries.add(path)
        elif _DIST.match(name):
            entries.add(path)
            target = _egg_link_target(path) if name.endswith(".egg-link") else _project_of(path)
            if target:
                projects.add(target)
        elif _EDITABLE.match(name):
            entries.add(path)
    cache = os.path.join(directory, "__pycache__")
    try:
        entries.update(os.path.join(cache, n) for n in os.listdir(cache) if _EDITABLE.match(n))
    except OSError:
        pass
    return entries, projects


def _git_dir(project: str) -> str | None:
    """The repository's git directory where ``project/.git`` is a file (a worktree or a
    submodule points elsewhere); a ``.git`` directory inside the project is hidden with it."""
    dot_git = os.path.join(project, ".git")
    if not os.path.isfile(dot_git):
        return None
    try:
        with open(dot_git) as f:
            line = f.readline().strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    gitdir = os.path.join(project, line[len("gitdir:") :].strip())
    try:
        with open(os.path.join(gitdir, "commondir")) as f:
            return os.path.join(gitdir, f.readline().strip())  # a worktree: the shared repository
    except OSError:
        return gitdir


def _source_root(dirs: set[str]) -> str | None:
    """The project directory of a checkout whose folders install as subpackages: the
    common parent of the package directories, if a pyproject.toml says it is one."""
    if len(dirs) < 2:
        return None
    root = os.path.commonpath(sorted(dirs))
    return root if root not in dirs and os.path.isfile(os.path.join(root, "pyproject.toml")) else None


def installation_paths(search_path: list[str] | None = None) -> list[str]:
    """Every path of Evolve's installation that a candidate must not read, real paths,
    shortest first. ``search_path`` defaults to ``sys.path``."""
    dirs = package_dirs()
    found = set(dirs)
    projects: set[str] = set()
    for entry in sys.path if search_path is None else search_path:
        if entry and os.path.isdir(entry):
            entries, targets = installed_in(entry)
            found |= entries
            projects |= targets
    root = _source_root(dirs)
    if root:
        projects.add(root)
    for project in projects:
        found.add(project)
        gitdir = _git_dir(project)
        if gitdir:
            found.add(gitdir)
    real = {os.path.realpath(p) for p in found if os.path.lexists(p)}
    real.discard("/")
    return sorted(real, key=lambda p: (len(p), p))


@functools.cache
def own_installation() -> list[str]:
    """This engine's Evolve (found once: it does not move while the engine runs)."""
    return installation_paths()


if __name__ == "__main__":  # run inside a user's image: where is Evolve installed there?
    print(json.dumps(installation_paths()))
