"""Connecting to the Docker daemon, shared by the Docker backend and its image builder."""

from __future__ import annotations

from typing import Any

from evolve.errors import SandboxError


def connect(timeout: float = 5.0) -> Any:
    """A ``docker.DockerClient`` whose daemon answers, or SandboxError saying what to do."""
    try:
        import docker
    except ImportError:
        raise SandboxError("the Docker sandbox needs the docker package: pip install 'evolve-search[docker]'") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as e:
        raise SandboxError(
            f"no Docker daemon answers ({str(e)[:160]}); start dockerd (see DEVELOPERS.md) or use --sandbox process"
        ) from None
    return client
