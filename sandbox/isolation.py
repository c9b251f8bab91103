"""How the process backend walls a candidate off, chosen once per machine.

Levels, strongest first:
- ``bwrap``: bubblewrap gives the candidate private network, PID, IPC and UTS namespaces,
  a read-only view of the filesystem with /root, /home, /tmp and the engine's own
  directories replaced by empty tmpfs (only the Python installation is mounted back),
  and dies with the engine. A seccomp filter (``seccomp.py``) forbids new user
  namespaces. As root it also drops to an unprivileged uid per slot, so process limits
  apply and root-only files are out of reach.
- ``unshare``: util-linux unshare gives private network and PID namespaces (root only).
- ``none``: plain process with rlimits and an empty environment; the network is reachable.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

LEVELS = ("bwrap", "unshare", "none")


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.cache
def detect(preferred: str = "auto") -> str:
    """The strongest level that works here (or the preferred one, if it works)."""
    py = sys.executable
    probes = {
        "bwrap": shutil.which("bwrap") and _works(bwrap_prefix([], os.getcwd()) + [py, "-I", "-c", "pass"]),
        "unshare": shutil.which("unshare")
        and os.geteuid() == 0
        and _works(unshare_prefix() + [py, "-I", "-c", "pass"]),
        "none": True,
    }
    if preferred != "auto":
        if preferred not in probes:
            raise ValueError(f"unknown isolation {preferred!r}; choose one of auto, {', '.join(LEVELS)}")
        if not probes[preferred]:
            from evolve.errors import SandboxError

            raise SandboxError(f"isolation {preferred!r} does not work on this machine; use --isolation auto")
        return preferred
    for level in LEVELS:
        if probes[level]:
            if level != "bwrap":
                log.warning(
                    "process sandbox: bubblewrap is not available, using %r isolation%s "
                    "(install bubblewrap for filesystem and network isolation)",
                    level,
                    "" if level == "unshare" else " with NO network isolation",
                )
            return level
    return "none"


def python_roots() -> list[str]:
    """Directories the candidate's interpreter needs (mounted back read-only)."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return sorted(roots)


def bwrap_prefix(hide: list[str], workdir: str, uid: int | None = None, seccomp_fd: int | None = None) -> list[str]:
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hidden = ["/root", "/home", "/tmp", "/var/tmp", "/run"] + [os.path.realpath(h) for h in hide]
    # Never hide a parent of the interpreter as a whole: hide it, then mount the interpreter back.
    for path in sorted(set(hidden), key=len):
        if os.path.isdir(path):
            cmd += ["--perms", "0755", "--tmpfs", path]
        elif os.path.exists(path):
            cmd += ["--ro-bind", "/dev/null", path]
    made: set[str] = set()
    for root in python_roots():
        for parent in reversed(Path(root).parents):
            p = str(parent)
            if p != "/" and any(p.startswith(h.rstrip("/") + "/") or p == h for h in hidden) and p not in made:
                made.add(p)
                cmd += ["--perms", "0755", "--dir", p]
        cmd += ["--ro-bind", root, root]
    cmd += ["--bind", workdir, workdir, "--chdir", workdir]
    cmd += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session"]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += ["--"]
    if uid is not None:
        cmd += [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
        ]
    return cmd


def unshare_prefix() -> list[str]:
    return ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--"]
