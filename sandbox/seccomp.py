"""A tiny seccomp filter for the process backend: no new user namespaces.

Creating a user namespace needs no privilege, and inside one a candidate reaches kernel
code (mounts, nested namespaces) that is otherwise closed to it, a large attack
surface. Docker's default profile blocks it; bubblewrap installs this filter for us
(``bwrap --seccomp FD``). It refuses ``unshare``/``clone`` with CLONE_NEWUSER and
``setns``, and makes ``clone3`` (whose flags a classic BPF filter cannot read) report
ENOSYS so the C library falls back to ``clone``. Everything else is allowed.
"""

from __future__ import annotations

import errno
import os
import platform
import struct

CLONE_NEWUSER = 0x10000000
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000

# arch -> (AUDIT_ARCH, unshare, clone, clone3, setns) syscall numbers
_ARCH = {
    "x86_64": (0xC000003E, 272, 56, 435, 308),
    "aarch64": (0xC00000B7, 97, 220, 435, 268),
}


def _ins(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _ld(offset: int) -> bytes:
    return _ins(0x20, 0, 0, offset)  # BPF_LD | BPF_W | BPF_ABS


def _jeq(k: int, jt: int, jf: int) -> bytes:
    return _ins(0x15, jt, jf, k)  # BPF_JMP | BPF_JEQ | BPF_K


def _ret(k: int) -> bytes:
    return _ins(0x06, 0, 0, k)  # BPF_RET | BPF_K


def program() -> bytes | None:
    """The compiled filter for this machine, or None on an architecture we don't know."""
    arch = _ARCH.get(platform.machine())
    if arch is None:
        return None
    audit, unshare, clone, clone3, setns = arch
    deny = _RET_ERRNO | errno.EPERM
    insns = [
        _ld(4),
        _jeq(audit, 1, 0),
        _ret(_RET_ALLOW),  # 0-2: another ABI: leave alone
        _ld(0),  # 3: syscall number
        _jeq(clone3, 0, 1),
        _ret(_RET_ERRNO | errno.ENOSYS),  # 4-5
        _jeq(setns, 0, 1),
        _ret(deny),  # 6-7
        _jeq(unshare, 1, 0),
        _jeq(clone, 0, 3),  # 8-9: to the flags check, or allow
        _ld(16),  # 10: args[0], low 32 bits
        _ins(0x45, 0, 1, CLONE_NEWUSER),  # 11: BPF_JSET: CLONE_NEWUSER set?
        _ret(deny),  # 12
        _ret(_RET_ALLOW),  # 13
    ]
    return b"".join(insns)


def filter_fd() -> int | None:
    """A readable descriptor holding the filter (for ``bwrap --seccomp FD``); the caller
    closes it after starting the process."""
    prog = program()
    if prog is None:
        return None
    fd = os.memfd_create("evolve-seccomp", 0)
    os.write(fd, prog)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
