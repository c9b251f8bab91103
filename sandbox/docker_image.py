"""Which image a Docker sandbox runs and what it mounts.

Two kinds:
- a user image (any name, e.g. ``python:3.11-slim`` or your own build): used as is,
  nothing from the host is mounted; the image must have ``python3`` (or the interpreter
  you name) on its PATH.
- the offline *host runtime* (``image=None``): a tiny image imported from a tarball that
  holds only mount points and the host's top-level symlinks (``/lib -> usr/lib``), plus
  read-only bind mounts of exactly what the host interpreter needs: its prefix (and the
  venv, if any) and the system library directories. No registry is needed. The engine's
  working directory, home directories, /etc and the archive database are not mounted;
  Evolve's own package, where it lies inside those mounts (site-packages), is covered.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import sys
import tarfile
from dataclasses import dataclass, field

from evolve.errors import SandboxError
from evolve.sandbox import package_paths

log = logging.getLogger(__name__)

HOST_RUNTIME_REPO = "evolve-host-runtime"
# System library directories the interpreter and compiled extensions may need.
_LIB_DIRS = (
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/local/lib",
)
_TOP_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_FILES = ("/etc/ld.so.cache",)
_PASSWD = "root:x:0:0:root:/nonexistent:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


@dataclass
class Runtime:
    image: str
    python: str
    """The interpreter's path inside the container."""
    binds: dict[str, dict] = field(default_factory=dict)
    """docker-py ``volumes``: host path -> {"bind": path, "mode": "ro"}."""
    host_runtime: bool = False
    hidden_dirs: list[str] = field(default_factory=list)
    """Directories the container must not show (Evolve's package inside a bind): an empty tmpfs over each."""
    hidden_files: list[str] = field(default_factory=list)
    """Files the container must not show (an editable install's finder): /dev/null over each."""


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"


def python_roots() -> list[str]:
    """Prefixes the host interpreter needs, outermost only (a venv and its base)."""
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    paths.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    return sorted(p for p in paths if not any(q != p and _under(p, q) for q in paths))


def host_binds(hide: tuple[str, ...] = ()) -> dict[str, dict]:
    """Read-only binds for the host runtime, refusing any that would expose the engine
    (its working directory, the home directory, and the paths in ``hide``)."""
    roots = python_roots()
    libs = [p for p in _LIB_DIRS if os.path.isdir(p) and not os.path.islink(p)]
    binds = {p: {"bind": p, "mode": "ro"} for p in roots + libs}
    binds.update({f: {"bind": f, "mode": "ro"} for f in _FILES if os.path.isfile(f)})
    # The interpreter path itself may be a symlink (a venv's bin/python); mount its target too.
    target = os.path.realpath(sys.executable)
    if not any(_under(target, p) for p in binds):
        binds[os.path.dirname(target)] = {"bind": os.path.dirname(target), "mode": "ro"}
    private = [os.path.realpath(p) for p in (os.getcwd(), os.path.expanduser("~"), *hide)]
    for path in binds:
        for secret in private:
            if _under(secret, path):
                raise SandboxError(
                    f"the host runtime would mount {path}, which contains {secret}; "
                    "run from another directory or give the Docker sandbox an image (--sandbox-image)"
                )
    return binds


def hidden_inside(mounted: list[str], paths: list[str]) -> tuple[list[str], list[str]]:
    """The ``paths`` (Evolve's installation) that ``mounted`` would show in a container:
    directories and files to cover there. A path outside every mount is out of sight."""
    dirs: list[str] = []
    files: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path != m and _under(path, m) for m in mounted) or any(_under(path, d) for d in dirs):
            continue
        if os.path.isdir(path):
            dirs.append(path)
        elif os.path.lexists(path):
            files.append(path)
    return dirs, files


def _layout_tar() -> tuple[bytes, str]:
    """An image filesystem with only mount points and the host's top-level symlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add(name: str, kind: bytes, mode: int, link: str = "", data: bytes = b"") -> None:
            info = tarfile.TarInfo(name.lstrip("/"))
            info.type, info.mode, info.linkname, info.size, info.mtime = kind, mode, link, len(data), 0
            tar.addfile(info, io.BytesIO(data) if data else None)

        for d in ("/tmp", "/proc", "/sys", "/dev", "/etc", "/usr", "/nonexistent"):
            add(d, tarfile.DIRTYPE, 0o1777 if d == "/tmp" else 0o755)
        for link in _TOP_LINKS:
            if os.path.islink(link):
                add(link, tarfile.SYMTYPE, 0o777, os.readlink(link))
        add("/etc/passwd", tarfile.REGTYPE, 0o644, data=_PASSWD.encode())
        add("/etc/group", tarfile.REGTYPE, 0o644, data=_GROUP.encode())
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()[:12]


def ensure_host_runtime(client, hide: tuple[str, ...] = ()) -> Runtime:
    """Import (once) the empty host-runtime image and describe its mounts."""
    data, tag = _layout_tar()
    image = f"{HOST_RUNTIME_REPO}:{tag}"
    try:
        client.images.get(image)
    except Exception:  # docker.errors.ImageNotFound, without importing docker here
        log.info("importing the offline sandbox image %s", image)
        client.api.import_image_from_data(data, repository=HOST_RUNTIME_REPO, tag=tag)
    binds = host_binds(hide)
    # The interpreter's prefix holds site-packages: Evolve's own package (and an editable
    # install's finder) would come along with numpy. Cover those inside the container.
    dirs, files = hidden_inside(list(binds), package_paths.own_installation())
    return Runtime(
        image=image, python=sys.executable, binds=binds, host_runtime=True, hidden_dirs=dirs, hidden_files=files
    )


def ensure_user_image(client, image: str, python: str = "python3") -> Runtime:
    """A user's image: present locally, or pulled once; no host path is mounted."""
    import docker.errors

    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        log.info("pulling sandbox image %s", image)
        try:
            client.images.pull(image)
        except docker.errors.DockerException as e:
            raise SandboxError(
                f"Docker image {image!r} is not on this machine and cannot be pulled ({str(e)[:120]}); "
                "build or load it first (docker build / docker load) or omit the image to use the host runtime"
            ) from None
    return Runtime(image=image, python=python)


def resolve(client, image: str | None, python: str | None = None, hide: tuple[str, ...] = ()) -> Runtime:
    if image is None:
        if python is not None:
            raise SandboxError("the host runtime runs the engine's own interpreter; give python= only with an image")
        return ensure_host_runtime(client, hide)
    return ensure_user_image(client, image, python or "python3")


if __name__ == "__main__":  # .ci/docker.sh: import the offline image ahead of the tests
    from evolve.sandbox.docker_client import connect

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("offline sandbox image ready: %s", ensure_host_runtime(connect()).image)
