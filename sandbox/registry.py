"""Sandbox backends by name: ``sandbox = "process"`` or ``"docker"`` (or ``"auto"``), or yours.

A backend is a ``evolve.sandbox.base.Sandbox``. Register a class (or factory) with its
options model, a pydantic class whose fields are the settings it takes; the campaign's
sandbox settings (``isolation``, ``docker_image``, ``sandbox_options``, ...) are
validated against it, each backend taking the fields it declares::

    from pydantic import BaseModel
    from evolve.sandbox.registry import register_sandbox

    class Options(BaseModel):
        hide: list[str] = []

    @register_sandbox("mine", options=Options)
    class Mine(Sandbox):
        '''One line that says what it isolates.'''
        name = "mine"
        def __init__(self, options: Options): ...
        def evaluate(self, job): ...

``auto`` is not a backend: it picks Docker when a daemon answers and says so when it
falls back to the process backend (``evolve.sandbox.select``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from evolve.registry import Registry
from evolve.sandbox.base import Sandbox

SANDBOXES: Registry[Callable[..., Sandbox]] = Registry("sandbox backend")
"""Sandbox backends by name (``evolve --help`` and the docs list them from here)."""

C = TypeVar("C")


def register_sandbox(
    name: str, summary: str | None = None, *, options: type[BaseModel] | None = None, replace: bool = False
) -> Callable[[C], C]:
    """Class decorator: make a sandbox backend available as ``sandbox = "name"``."""
    return SANDBOXES.register(name, summary, options=options, replace=replace)


class ProcessOptions(BaseModel):
    """The process backend's settings."""

    model_config = ConfigDict(extra="forbid")
    isolation: Literal["auto", "bwrap", "namespaces", "unshare", "none"] = Field(
        "auto", description="the walls: bubblewrap when installed (auto), namespaces (unshare: old name), or none"
    )
    hide: list[str] = Field(default_factory=list, description="host paths the candidate must not see")
    unsafe_no_isolation: bool = Field(
        False, description="where no isolation works, run candidates anyway (never chosen silently)"
    )


class DockerOptions(BaseModel):
    """The Docker backend's settings; unset ones keep ``DockerSandbox``'s defaults."""

    model_config = ConfigDict(extra="forbid")
    image: str | None = Field(None, description="image to run (default: the offline host-runtime image)")
    pool_size: int | None = Field(None, ge=1, description="warm containers")
    python: str | None = None
    memory_mb: int | None = Field(None, ge=64)
    cpus: float | None = Field(None, gt=0)
    pids_limit: int | None = Field(None, ge=8)
    tmpfs_mb: int | None = Field(None, ge=1)
    max_jobs: int | None = Field(None, ge=1, description="jobs a container runs before it is replaced")
    preload: tuple[str, ...] | None = None
    hide: list[str] | None = None
    start_timeout: float | None = Field(None, gt=0)
    direct: bool | None = None


def process_sandbox(options: ProcessOptions) -> Sandbox:
    from evolve.sandbox.process import ProcessSandbox

    return ProcessSandbox(
        isolation_level=options.isolation, hide=options.hide, unsafe_no_isolation=options.unsafe_no_isolation
    )


def docker_sandbox(options: DockerOptions) -> Sandbox:
    from evolve.sandbox.docker import DockerSandbox

    return DockerSandbox(**options.model_dump(exclude_none=True))


SANDBOXES.add(
    "process",
    process_sandbox,
    "a child process with limits; bubblewrap namespaces and seccomp when installed",
    options=ProcessOptions,
)
SANDBOXES.add(
    "docker",
    docker_sandbox,
    "a warm pool of locked-down containers, no network (needs a Docker daemon)",
    options=DockerOptions,
)
