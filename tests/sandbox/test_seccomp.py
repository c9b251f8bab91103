"""The process backend's seccomp filter: no user namespaces, everything else works."""

from evolve.problems.contract import default_drive
from evolve.sandbox import seccomp
from evolve.sandbox.base import EvalJob
from evolve.sandbox.process import ProcessSandbox
from tests.needs import unavailable

HARNESS = "def run(program, case):\n    return program.f()\n"
PROBE = """
import ctypes, os, threading
def f():
    libc = ctypes.CDLL(None, use_errno=True)
    newuser = libc.unshare(0x10000000)
    err = ctypes.get_errno()
    newuts = libc.unshare(0x04000000)  # needs CAP_SYS_ADMIN: refused anyway
    t = threading.Thread(target=lambda: None)
    t.start(); t.join()
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    return [newuser, err, newuts, os.waitstatus_to_exitcode(status)]
"""


def test_filter_is_compiled_for_this_machine():
    prog = seccomp.program()
    assert prog is not None and len(prog) % 8 == 0


def test_user_namespaces_refused_threads_and_fork_allowed():
    sb = ProcessSandbox()
    if sb.level != "bwrap":
        unavailable("bubblewrap", "the seccomp filter is installed by bubblewrap", ci_provides=False)
    r = sb.evaluate(EvalJob(code=PROBE, harness=HARNESS, cases=[None], drive=default_drive, time_limit=10))
    assert r.status == "ok", r.reason
    newuser, err, newuts, child = r.outputs[0]
    assert newuser == -1 and err == 1  # EPERM
    assert newuts == -1
    assert child == 7
