"""How the process backend walls a candidate off, chosen once per machine.

Levels, strongest first. The first two keep the same guarantees: the candidate is never
root, sees no home directory, no other user's files in /tmp, no Docker socket, no
archive and no network.

- ``bwrap``: bubblewrap gives the candidate private network, PID, IPC and UTS namespaces,
  a read-only view of the filesystem with /root, /home, /tmp, /run, the engine's own
  directories and Evolve's installation (answer keys, scorers: ``package_paths.py``)
  replaced by empty tmpfs (only the Python installation is mounted back, without Evolve),
  and dies with the engine. A seccomp filter (``seccomp.py``) forbids new user
  namespaces. As root it also drops to an unprivileged uid per slot.
- ``namespaces``: the same walls without bubblewrap, set up by ``confine.py`` with
  system calls: as root directly (then it drops to an unprivileged uid per slot), as an
  ordinary user inside a user namespace (where the kernel allows unprivileged ones).
  ``unshare`` is an older name for it.
- ``none``: a plain process with rlimits, an empty environment, the seccomp filter and,
  as root, an unprivileged uid: the network and every world-readable file are reachable.
  Only with an explicit opt-in (``--unsafe-no-isolation``), and never as root: a root
  engine whose interpreter other users cannot run refuses it.

``auto`` takes the strongest level that works here (as an ordinary user ``namespaces``
comes first: unprivileged bubblewrap's PID 1 can be traced by the candidate). Where neither ``bwrap`` nor
``namespaces`` works, evaluation is refused with one line saying what to install,
unless the user opted in to ``none``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from evolve.errors import SandboxError
from evolve.sandbox import package_paths

log = logging.getLogger(__name__)

LEVELS = ("bwrap", "namespaces", "none")
ALIASES = {"unshare": "namespaces"}
CONFINE = Path(__file__).with_name("confine.py")
PROBE_UID = 65534  # nobody: a root engine's probe of the namespaces level runs as it
# Hidden from every candidate: home directories, other users' scratch files, runtime
# sockets (the Docker socket lives under /run), mail and spools.
ALWAYS_HIDDEN = ("/root", "/home", "/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm", "/var/mail", "/var/spool")
NO_ISOLATION = (
    "the process sandbox cannot isolate candidates on this machine ({why}): install bubblewrap "
    "(apt-get install bubblewrap), allow unprivileged user namespaces, or use --sandbox docker; "
    "--unsafe-no-isolation runs candidates anyway, able to read your files and reach the network"
)


def _works(cmd: list[str], **kwargs) -> tuple[bool, str]:
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=20, **kwargs)
    except (OSError, subprocess.SubprocessError) as e:
        return False, str(e)
    return done.returncode == 0, done.stderr.decode(errors="replace").strip()[-300:]


def hidden_paths(hide: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every path a candidate must not see: the fixed ones, the engine's own, Evolve's
    installation (``package_paths.py``: the answer keys and scorers), and the Docker
    socket where DOCKER_HOST puts it elsewhere."""
    paths = list(ALWAYS_HIDDEN) + [os.path.realpath(h) for h in hide] + package_paths.own_installation()
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host.startswith("unix://"):
        paths.append(os.path.realpath(docker_host[len("unix://") :]))
    return sorted(set(paths), key=len)


def confine_prefix(spec_fd: int) -> list[str]:
    return [sys.executable, "-I", str(CONFINE), str(spec_fd), "--"]


def confine_spec(level: str, workdir: str, hide: list[str], uid: int | None, seccomp_program: bytes | None) -> bytes:
    return json.dumps(
        {
            "namespaces": level == "namespaces",
            "workdir": workdir,
            "hide": hidden_paths(hide),
            "keep": python_roots(),
            "uid": uid,
            "seccomp": (seccomp_program or b"").hex(),
        }
    ).encode()


def spec_fd(spec: bytes) -> int:
    """A readable descriptor holding the launcher's spec; the caller closes it."""
    fd = os.memfd_create("evolve-confine", 0)
    os.write(fd, spec)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _probe_confine(level: str = "namespaces") -> tuple[bool, str]:
    from evolve.sandbox import seccomp

    uid = PROBE_UID if os.geteuid() == 0 else None
    workdir = tempfile.mkdtemp(prefix="evolve-probe-")
    fd = spec_fd(confine_spec(level, workdir, [], uid, seccomp.program()))
    try:
        if uid is not None:
            os.chown(workdir, uid, uid)
        return _works(
            confine_prefix(fd) + [sys.executable, "-I", "-c", "pass"],
            pass_fds=(fd,),
            cwd=workdir,
            env={"PATH": "/usr/bin:/bin"},
        )
    finally:
        os.close(fd)
        shutil.rmtree(workdir, ignore_errors=True)


def _preference() -> tuple[str, ...]:
    """bwrap first as root. As an ordinary user bubblewrap's own PID 1 runs with the
    candidate's uid, so the candidate could trace it; confine.py's PID 1 cannot be traced."""
    return ("bwrap", "namespaces") if os.geteuid() == 0 else ("namespaces", "bwrap")


def _probe_bwrap() -> tuple[bool, str]:
    if not shutil.which("bwrap"):
        return False, "bubblewrap is not installed"
    return _works(bwrap_prefix([], os.getcwd()) + [sys.executable, "-I", "-c", "pass"])


def detect(preferred: str = "auto", allow_unsafe: bool = False) -> str:
    """The strongest level that works here (or the preferred one, if it works).
    SandboxError when nothing keeps the guarantees and ``allow_unsafe`` is false."""
    preferred = ALIASES.get(preferred, preferred)
    if preferred != "auto" and preferred not in LEVELS:
        raise SandboxError(f"unknown isolation {preferred!r}; choose one of auto, {', '.join(LEVELS)}")
    return _detect(preferred, allow_unsafe, shutil.which("bwrap"))


@functools.cache
def _detect(preferred: str, allow_unsafe: bool, bwrap: str | None) -> str:
    probes = {"bwrap": _probe_bwrap, "namespaces": _probe_confine}
    if preferred == "none":
        if not allow_unsafe:
            raise SandboxError(
                "isolation 'none' lets candidates read your files and reach the network: "
                "pass --unsafe-no-isolation to accept that risk"
            )
        log.warning("process sandbox: NO isolation (--unsafe-no-isolation): candidates can reach the network")
        return "none"
    if preferred != "auto":
        ok, why = probes[preferred]()
        if not ok:
            raise SandboxError(f"isolation {preferred!r} does not work on this machine ({why}); use --isolation auto")
        return preferred
    reasons: list[str] = []
    for level in _preference():
        ok, why = probes[level]()
        if ok:
            if reasons:
                log.info("process sandbox: using %r isolation (%s)", level, "; ".join(reasons))
            return level
        reasons.append(f"{level}: {why or 'failed'}")
    if allow_unsafe:
        log.warning(
            "process sandbox: NO isolation (--unsafe-no-isolation; %s): candidates can reach the network",
            "; ".join(reasons),
        )
        return "none"
    raise SandboxError(NO_ISOLATION.format(why="; ".join(reasons)))


@functools.cache
def uid_can_run_python() -> bool:
    """Whether an unprivileged uid can start this interpreter without a mount namespace
    (not when it lives under /root): a root engine refuses isolation 'none' otherwise."""
    return os.geteuid() != 0 or _probe_confine("none")[0]


def inside_python(paths: list[str], roots: list[str]) -> tuple[list[str], list[str]]:
    """``paths`` split into those to hide before the interpreter's directories are mounted
    back and those strictly inside them (``site-packages/evolve``), hidden afterwards."""
    inner = [p for p in paths if any(p != r and p.startswith(r.rstrip("/") + "/") for r in roots)]
    return [p for p in paths if p not in inner], inner


def _bwrap_hide(paths: list[str]) -> list[str]:
    """bwrap options that cover each path (an empty tmpfs, /dev/null over a file)."""
    cmd: list[str] = []
    covered: list[str] = []
    for path in paths:
        if os.path.islink(path):
            continue  # /var/run -> /run: hiding the target hides it
        if any(path.startswith(c.rstrip("/") + "/") for c in covered):
            continue  # inside one already covered: gone with it
        if os.path.isdir(path):
            cmd += ["--perms", "0755", "--tmpfs", path]
            covered.append(path)
        elif os.path.exists(path):
            cmd += ["--ro-bind", "/dev/null", path]
    return cmd


def python_roots() -> list[str]:
    """Directories the candidate's interpreter needs (mounted back read-only)."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return sorted(roots)


def bwrap_prefix(hide: list[str], workdir: str, uid: int | None = None, seccomp_fd: int | None = None) -> list[str]:
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hidden = hidden_paths(hide)
    roots = python_roots()
    outer, inner = inside_python(hidden, roots)
    # Never hide a parent of the interpreter as a whole: hide it, then mount the interpreter
    # back, then hide what lies inside the interpreter's directories (Evolve's package).
    cmd += _bwrap_hide(outer)
    made: set[str] = set()
    for root in roots:
        for parent in reversed(Path(root).parents):
            p = str(parent)
            if p != "/" and any(p.startswith(h.rstrip("/") + "/") or p == h for h in hidden) and p not in made:
                made.add(p)
                cmd += ["--perms", "0755", "--dir", p]
        cmd += ["--ro-bind", root, root]
    cmd += _bwrap_hide(inner)
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
