"""Choosing a sandbox backend by name: ``make_sandbox("auto" | "docker" | "process")``.

``auto`` prefers Docker (stronger isolation: its own kernel namespaces, cgroup limits,
no host filesystem) when a daemon answers, and says clearly in the log when it falls
back to the process backend and why. The returned object's ``name`` is what the
campaign records as the backend it used.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from evolve.errors import SandboxError
from evolve.sandbox.base import Sandbox

log = logging.getLogger(__name__)

KINDS = ("auto", "docker", "process")


def _docker_class():
    from evolve.sandbox.docker import DockerSandbox

    return DockerSandbox


def _process_class():
    from evolve.sandbox.process import ProcessSandbox

    return ProcessSandbox


_ALIASES = {"isolation": "isolation_level"}  # the config's name -> ProcessSandbox's


def _accepted(cls, options: dict[str, Any]) -> dict[str, Any]:
    """The options this backend takes; in ``auto`` the others belong to the other backend."""
    params = inspect.signature(cls.__init__).parameters
    options = {_ALIASES.get(k, k): v for k, v in options.items()}
    return {k: v for k, v in options.items() if k in params}


def _unknown(options: dict[str, Any]) -> list[str]:
    known: set[str] = set(_ALIASES)
    for cls in (_docker_class(), _process_class()):
        known |= set(inspect.signature(cls.__init__).parameters) - {"self"}
    return sorted(set(options) - known)


def make_sandbox(kind: str = "auto", **options: Any) -> Sandbox:
    """A ready sandbox of the given kind; SandboxError if it cannot work here."""
    if kind not in KINDS:
        raise SandboxError(f"unknown sandbox {kind!r}; choose one of {', '.join(KINDS)}")
    unknown = _unknown(options)
    if unknown:
        raise SandboxError(f"unknown sandbox option(s) {', '.join(unknown)}; see docs/sandbox.md")
    if kind == "process":
        return _process_class()(**_accepted(_process_class(), options))
    if kind == "docker":
        return _docker_class()(**_accepted(_docker_class(), options))
    try:
        sandbox = _docker_class()(**_accepted(_docker_class(), options))
    except SandboxError as e:
        log.warning("sandbox: Docker is not usable (%s); falling back to the process backend", e)
        return _process_class()(**_accepted(_process_class(), options))
    log.info("sandbox: using %s", getattr(sandbox, "describe", lambda: sandbox.name)())
    return sandbox
