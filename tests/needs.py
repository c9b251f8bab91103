"""The one place a test says what it needs and skips without it.

Outside CI a missing service or optional package skips the test with the reason. Under
``CI=true`` anything CI provides (Docker, PostgreSQL, Chromium, the extras ``.ci/test``
installs) must be there, so its absence fails the test instead of hiding a broken setup.
Only what CI does not promise (bubblewrap, a GPU) may skip there, with
``ci_provides=False``.

    from tests.needs import need, need_module, need_chromium

    st = need_module("sentence_transformers", extra="embeddings")
    chromium = need_chromium()
    need("bubblewrap", why_not, ci_provides=False)    # skips; never fails
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType
from typing import NoReturn

import pytest

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(what: str, why: str, *, ci_provides: bool = True) -> NoReturn:
    """Skip because ``what`` is missing; fail instead under CI=true when CI provides it."""
    if ci_provides and on_ci():
        pytest.fail(f"CI=true but {what} is not available: {why}", pytrace=False)
    pytest.skip(f"{what} is not available: {why}")


def need(what: str, why_not: str | None, *, ci_provides: bool = True) -> None:
    """Go on when ``why_not`` is None, else skip (or fail on CI) saying why."""
    if why_not is not None:
        unavailable(what, why_not, ci_provides=ci_provides)


def need_module(name: str, *, extra: str | None = None, ci_provides: bool = True) -> ModuleType:
    """``pytest.importorskip`` for third-party packages, CI-aware. Never use it for the
    project's own modules: a broken module must fail its tests, not skip them."""
    if name == "evolve" or name.startswith("evolve."):
        raise ValueError("the project's own modules are never optional: import them directly")
    try:
        return importlib.import_module(name)
    except ImportError as e:
        hint = f" (pip install 'evolve-search[{extra}]')" if extra else ""
        unavailable(f"the {name} package", f"{e}{hint}", ci_provides=ci_provides)


def chromium_path() -> str | None:
    for path in (os.environ.get("EVOLVE_TEST_CHROMIUM"), *CHROMIUM_PATHS, shutil.which("chromium")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def need_chromium() -> str:
    """The path of a Chromium binary (for playwright's ``executable_path``)."""
    path = chromium_path()
    need("Chromium", None if path else f"none of {', '.join(CHROMIUM_PATHS)} (or $EVOLVE_TEST_CHROMIUM) exists")
    assert path is not None
    return path
