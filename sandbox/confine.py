"""Walls a candidate off without bubblewrap: namespaces, mounts and a uid of its own.

Run by the process backend as ``python -I confine.py SPEC_FD -- python -I runner.py``.
Standalone on purpose (standard library only): it is trusted code that runs before
the candidate, with the engine's privileges, and sets up what ``bwrap`` would:

- new mount, network, PID, IPC and UTS namespaces: no network at all (not even the
  host's loopback or abstract unix sockets), no view of other processes, no System V IPC;
- every mount read-only; /root, /home, /tmp, /var/tmp, /run (the Docker socket), /dev/shm,
  the engine's own directories (archive, working directory) and Evolve's installation
  (answer keys, scorers) replaced by empty, read-only tmpfs; only the Python installation
  and the candidate's scratch directory are mounted back, Evolve's package inside the
  former covered again;
- never root: as root the candidate runs as the claimed unprivileged uid in SPEC; as an
  ordinary user the namespaces are created in a new user namespace (where the kernel
  allows it) and the candidate keeps the user's uid without any capability;
- the seccomp filter in SPEC (no new user namespaces), after ``no_new_privs``.

With ``namespaces`` false (isolation ``none``) only the uid change and the seccomp
filter apply. Any step that fails is fatal: the candidate never runs half-confined.

Process tree inside: this launcher (outside the namespaces) waits for PID 1 (a fork of
itself that mounts /proc and reaps), which waits for the runner. Each dies with its
parent, so killing the launcher ends everything the candidate started.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (generic syscall table)
O_PATH = getattr(os, "O_PATH", 0o10000000)

EXIT_SETUP_FAILED = 125  # the engine reads this as "the sandbox could not be set up"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.syscall.restype = ctypes.c_long


class SetupError(Exception):
    pass


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str | None, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], flags, enc[3]), f"mount {source or ''} on {target}")


def _prctl(option: int, arg: int, what: str) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), what)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _make_readonly() -> None:
    """Every mount read-only (recursively), nosuid."""
    attr = struct.pack("=QQQQ", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
    buf = ctypes.create_string_buffer(attr, len(attr))
    rc = _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, buf, len(attr))
    if rc == 0:
        return
    if ctypes.get_errno() != 38:  # ENOSYS: a kernel before 5.12, remount one by one below
        _check(rc, "read-only remount of /")
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    for point in points:
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
        st = os.statvfs(point)
        flags |= st.f_flag & (MS_NODEV | MS_NOEXEC)  # keep locked flags, or the remount is refused
        _check(_libc.mount(None, point.encode(), None, flags, None), f"read-only remount of {point}")


def _cover(paths: list[str]) -> list[str]:
    """Empty tmpfs over each directory (/dev/null over files); the directories covered."""
    covered: list[str] = []
    for path in sorted(set(paths), key=len):
        if any(_under(path, c) for c in covered) or not os.path.lexists(path):
            continue
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k,nr_inodes=256")
            covered.append(path)
        else:
            _mount("/dev/null", path, None, MS_BIND)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return covered


def _hide(paths: list[str], keep: dict[str, int], workdir: str, workdir_fd: int) -> None:
    """Empty read-only tmpfs over each hidden directory (/dev/null over files), then the
    kept paths mounted back inside them, then the hidden paths that lie inside the kept
    ones (Evolve's package in the interpreter's site-packages) covered again."""
    inner = [p for p in paths if any(p != k and _under(p, k) for k in keep)]
    hidden = _cover([p for p in paths if p not in inner])
    for path, fd in sorted(keep.items()):
        if any(_under(path, h) for h in hidden):
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    hidden += _cover(inner)
    # The scratch directory: the only writable place, wherever it lives.
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    _mount(f"/proc/self/fd/{workdir_fd}", workdir, None, MS_BIND)
    _mount(None, workdir, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    for path in hidden:
        _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _enter_namespaces(spec: dict) -> None:
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    own_user_ns = spec["uid"] is None and os.geteuid() != 0
    if own_user_ns:
        uid, gid = os.geteuid(), os.getegid()
        _check(_libc.unshare(flags | CLONE_NEWUSER), "unshare (user namespaces)")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
        _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    else:
        _check(_libc.unshare(flags), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host
    workdir = os.path.realpath(spec["workdir"])
    keep = {os.path.realpath(p): os.open(p, O_PATH) for p in spec["keep"] if os.path.exists(p)}
    workdir_fd = os.open(workdir, O_PATH)
    _make_readonly()
    _hide([os.path.realpath(p) for p in spec["hide"]], keep, workdir, workdir_fd)
    for fd in [*keep.values(), workdir_fd]:
        os.close(fd)
    os.chdir(workdir)


def _mount_proc() -> None:
    """A /proc of the new PID namespace (only the candidate's processes), else none."""
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except SetupError:  # a kernel that refuses (e.g. /proc partly masked): hide it instead
        _mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k")


def _drop_privileges(spec: dict) -> None:
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) == 0:
        cap += 1  # until EINVAL: past the last capability this kernel knows
    uid = spec["uid"]
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    if os.geteuid() == 0 or os.getuid() == 0:
        raise SetupError("refusing to run a candidate as root: no unprivileged uid to drop to")
    _prctl(PR_SET_NO_NEW_PRIVS, 1, "no_new_privs")
    program = bytes.fromhex(spec.get("seccomp") or "")
    if program:
        insns = ctypes.create_string_buffer(program, len(program))

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        prog = SockFprog(len(program) // 8, ctypes.addressof(insns))
        _check(
            _libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(prog), 0, 0), "seccomp filter"
        )


def _status_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)  # like bwrap and a shell
    return os.WEXITSTATUS(status)


def _wait_for(pid: int) -> int:
    """Reap children until ``pid`` ends; its exit code (128 + signal when killed)."""
    while True:
        try:
            done, status = os.wait()
        except ChildProcessError:
            return EXIT_SETUP_FAILED
        if done == pid:
            return _status_code(status)


def _fail(message: str) -> None:
    os.write(2, f"evolve sandbox setup failed: {message}\n".encode())
    os._exit(EXIT_SETUP_FAILED)


def main(argv: list[str]) -> None:
    with os.fdopen(int(argv[1]), "rb") as f:
        spec = json.loads(f.read())
    command = argv[argv.index("--") + 1 :]
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "parent death signal")
    try:
        if spec["namespaces"]:
            _enter_namespaces(spec)
    except (SetupError, OSError) as e:
        _fail(str(e))
    init = os.fork()  # the first child is PID 1 of the new PID namespace
    if init:
        for fd in (0, 1):  # only the runner keeps the protocol pipes: its exit is their EOF
            os.close(fd)
        os._exit(_wait_for(init))
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "parent death signal")
        _prctl(PR_SET_DUMPABLE, 0, "not dumpable")  # the candidate cannot ptrace or read it
        if spec["namespaces"]:
            _mount_proc()
    except (SetupError, OSError) as e:
        _fail(str(e))
    runner = os.fork()
    if runner == 0:
        try:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "parent death signal")
            _drop_privileges(spec)
            os.execv(command[0], command)
        except (SetupError, OSError) as e:
            _fail(str(e))
    for fd in (0, 1):
        os.close(fd)
    os._exit(_wait_for(runner))


if __name__ == "__main__":
    main(sys.argv)
