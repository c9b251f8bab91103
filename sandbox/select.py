"""Choosing a sandbox backend by name: ``make_sandbox("auto" | "docker" | "process" | ...)``.

Backends are registered in ``evolve.sandbox.registry``. Settings are given once, for
every backend: each takes the fields its options model declares and a setting no
registered backend declares is an error. ``auto`` prefers Docker (stronger isolation:
its own kernel namespaces, cgroup limits, no host filesystem) when a daemon answers,
and says clearly in the log when it falls back to the process backend and why; it never
picks a weaker backend silently. The returned object's ``name`` is what the campaign
records as the backend it used.
"""

from __future__ import annotations

import logging
from typing import Any

from evolve.errors import ConfigError, SandboxError
from evolve.sandbox.base import Sandbox
from evolve.sandbox.registry import SANDBOXES

log = logging.getLogger(__name__)

AUTO = "auto"


def choices() -> tuple[str, ...]:
    """What ``sandbox =`` accepts: ``auto`` and every registered backend."""
    return (AUTO, *SANDBOXES.names())


def _declared(kind: str) -> set[str]:
    model = SANDBOXES.options_model(kind)
    return set(model.model_fields) if model is not None else set()


def build_backend(kind: str, options: dict[str, Any]) -> Sandbox:
    """Backend ``kind`` with the settings it declares; SandboxError if it cannot work here."""
    mine = {k: v for k, v in options.items() if k in _declared(kind)}
    try:
        sandbox = SANDBOXES.build(kind, mine)
    except ConfigError as e:
        raise SandboxError(str(e)) from None
    if not isinstance(sandbox, Sandbox):
        raise SandboxError(f"sandbox backend {kind!r} did not build a evolve.sandbox.base.Sandbox")
    return sandbox


def make_sandbox(kind: str = AUTO, **options: Any) -> Sandbox:
    """A ready sandbox of the given kind; SandboxError if it cannot work here."""
    if kind not in choices():
        raise SandboxError(f"unknown sandbox {kind!r}; choose one of {', '.join(choices())}")
    known = set().union(*(_declared(k) for k in SANDBOXES.names()))
    unknown = sorted(set(options) - known)
    if unknown:
        raise SandboxError(f"unknown sandbox option(s) {', '.join(unknown)}; see docs/sandbox.md")
    options = {k: v for k, v in options.items() if v is not None}
    if kind != AUTO:
        return build_backend(kind, options)
    try:
        sandbox = build_backend("docker", options)
    except SandboxError as e:
        log.warning("sandbox: Docker is not usable (%s); falling back to the process backend", e)
        return build_backend("process", options)
    log.info("sandbox: using %s", getattr(sandbox, "describe", lambda: sandbox.name)())
    return sandbox
