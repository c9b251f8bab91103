"""The worker inside every warm Docker sandbox container (standard library only).

It runs as the container's PID 1 and serves one job at a time to the engine, over the
unix socket the engine bind-mounts into the container (``config["host_socket"]``; see
``sandbox/docker_transport.py``) or, when that is absent, over its stdin/stdout. For
each job it forks a fresh child in a new session that calls ``runner.serve`` on
private pipes, relays the runner protocol (``sandbox/runner.py``) between the host and
that child, enforces the time limit per load/case, and afterwards kills every other
process in the container and wipes the scratch filesystems, so nothing one candidate
starts or writes reaches the next one.

Being PID 1 matters: signals from inside the namespace cannot kill it (the kernel drops
SIGKILL/SIGTERM sent to a namespace's init by its own processes), orphans are reparented
to it so ``kill(-1)`` plus ``waitpid`` reaps everything, and it is made non-dumpable so a
candidate running as the same uid can neither ptrace it nor open its /proc fds.

Host -> worker (one JSON object per line)     worker -> host
{"w": "job", "time_limit": s}                 {"w": "hello", "pid": 1, "direct": b} at start
runner lines ({"op": ...} / {"msg": ...})      runner lines of the child, relayed as-is
{"w": "finish"}                               {"w": "timeout"} | {"w": "exit", ...} |
                                              {"w": "overflow"} while a job runs, then
                                              {"w": "done", "stdout", "oom", "clean"}
"""

import collections
import ctypes
import fcntl
import json
import os
import resource
import select
import shutil
import signal
import socket
import stat
import sys
import time
import traceback

try:
    import runner  # injected by the container's bootstrap (see sandbox/docker.py)
except ImportError:  # pragma: no cover - running from a source checkout
    from evolve.sandbox import runner

_CHUNK = 1 << 16
_BACKLOG = 1 << 20  # output queued for the host beyond which the child is not read
_HOST_FD = 10  # the host connection's descriptor: above the child's 0-4, closed in the child
_TAIL = 4000
_SWEEP_SECONDS = 5.0
_GRACE = 2.0
_SCRATCH_ROOTS = ("/tmp", "/dev/shm")
_TERMINAL = (b'{"ready"', b'{"result"', b'{"error"')
_TIMED = (b'{"op":"load"', b'{"op":"case"')


class _Lines:
    """Non-blocking line buffer on a file descriptor, with a cap on one line's length."""

    def __init__(self, fd, cap):
        self.fd, self.cap, self.buf, self.eof = fd, cap, bytearray(), False

    def fill(self):
        try:
            data = os.read(self.fd, _CHUNK)
        except BlockingIOError:
            return
        if not data:
            self.eof = True
        self.buf += data

    def take(self):
        lines: list[bytes] = []
        while True:
            i = self.buf.find(b"\n")
            if i < 0:
                return lines
            lines.append(bytes(self.buf[: i + 1]))
            del self.buf[: i + 1]

    def overflowed(self):
        return len(self.buf) > self.cap


class _Output:
    """Bytes for the host, queued and written without blocking: the worker must keep
    reading the host while the host is busy writing to it, or both would wait forever."""

    def __init__(self, fd):
        self.fd, self.size = fd, 0
        self.chunks: collections.deque[memoryview] = collections.deque()

    def put(self, data):
        self.chunks.append(memoryview(data))
        self.size += len(data)
        self.flush()

    def flush(self):
        while self.chunks:
            head = self.chunks[0]
            try:
                n = os.write(self.fd, head)
            except BlockingIOError:
                return
            self.size -= n
            if n == len(head):
                self.chunks.popleft()
            else:
                self.chunks[0] = head[n:]

    def drain(self):
        """Block until everything queued is written."""
        while self.chunks:
            select.select([], [self.fd], [])
            self.flush()


def _harden():
    # Non-dumpable: same-uid processes may not ptrace us or read /proc/1/{mem,fd,environ}.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def _oom_kills():
    for path, key in (
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
    ):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return 0


def _child(scratch, rx_fd, tx_fd, env):
    """In the forked child: become a clean session and serve the runner protocol."""
    os.setsid()
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")  # the OOM killer takes the candidate, never the worker
    except OSError:
        pass
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update(env, HOME=scratch, TMPDIR=scratch)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    os.dup2(rx_fd, 3)
    os.dup2(tx_fd, 4)
    devnull = os.open(os.devnull, os.O_RDONLY)
    log = os.open("output.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(5, 1 << 16)  # the worker's host stream must not be reachable
    np = sys.modules.get("numpy")
    if np is not None:  # forked children would otherwise share the worker's RNG state
        np.random.seed(np.frombuffer(os.urandom(32), dtype=np.uint32))  # seed() is ~10 ms
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    rx = os.fdopen(3, "r", buffering=1)
    tx = os.fdopen(4, "w", buffering=1)
    runner.serve(rx, tx)
    sys.stdout.flush()
    os._exit(0)


def _sweep():
    """Kill every process in the container but us and reap them; False if that failed."""
    end = time.monotonic() + _SWEEP_SECONDS
    while time.monotonic() < end:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return True  # nobody left, not even zombies
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.0005)
    return False


def _remove_ipc():
    """Drop System V IPC objects a candidate left in the container's IPC namespace."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    for kind, ctl in (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl")):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                getattr(libc, ctl)(int(fields[1]), 0, None)  # IPC_RMID = 0


def _wipe():
    """Empty the scratch filesystems; False if something could not be removed."""

    def unlock(func, path, _exc):
        try:  # a candidate may have chmod-ed a directory to 000
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            func(path)
        except OSError:
            pass

    for root in _SCRATCH_ROOTS:
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            path = os.path.join(root, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, onerror=unlock)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    return not any(os.listdir(r) for r in _SCRATCH_ROOTS if os.path.isdir(r))


def _tail(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - _TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Worker:
    def __init__(self, host_in, host_out, env, max_line, direct=False):
        self.host = _Lines(host_in, max_line)
        self.out = _Output(host_out)
        self.env, self.max_line, self.jobs, self.direct = env, max_line, 0, direct

    def _send(self, obj):
        self.out.put(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def serve(self):
        self._send({"w": "hello", "pid": os.getpid(), "direct": self.direct})
        self.out.drain()
        while True:
            line = self._host_line()
            if line is None:
                return
            req = json.loads(line)
            if req.get("w") == "job":
                self._job(float(req.get("time_limit", 10.0)))

    def _host_line(self):
        # One line only: what follows the job line belongs to the job's relay.
        while True:
            i = self.host.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.host.buf[: i + 1])
                del self.host.buf[: i + 1]
                return line
            if self.host.eof:
                return None
            select.select([self.host.fd], [], [])
            self.host.fill()

    def _job(self, time_limit):
        self.jobs += 1
        scratch = os.path.join(_SCRATCH_ROOTS[0], f"job{self.jobs}")
        os.mkdir(scratch, 0o700)
        oom_before = _oom_kills()
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(p2c_w)
                os.close(c2p_r)
                _child(scratch, p2c_r, c2p_w, self.env)
            except BaseException:
                traceback.print_exc()  # into output.log once _child redirected it
            finally:
                os._exit(70)
        os.close(p2c_r)
        os.close(c2p_w)
        os.set_blocking(c2p_r, False)
        os.set_blocking(p2c_w, False)
        try:
            self._relay(pid, c2p_r, p2c_w, time_limit, oom_before)
        finally:
            os.close(c2p_r)
            os.close(p2c_w)
        tail = _tail(os.path.join(scratch, "output.log"))
        clean = _sweep()
        clean = _wipe() and clean
        _remove_ipc()
        self._send({"w": "done", "stdout": tail, "oom": _oom_kills() > oom_before, "clean": clean})
        self.out.drain()

    def _relay(self, pid, c2p_r, p2c_w, time_limit, oom_before):
        """Pass lines both ways until the host says finish; report the child's end."""
        child = _Lines(c2p_r, self.max_line)
        pidfd = os.pidfd_open(pid)
        to_child = bytearray()
        deadline: float | None = None
        finishing: float | None = None
        alive = True
        try:
            while True:
                now = time.monotonic()
                if finishing is not None and (not alive or now >= finishing):
                    return
                if alive and deadline is not None and now >= deadline:
                    os.killpg(pid, signal.SIGKILL)
                    self._send({"w": "timeout"})
                    deadline, alive = None, False
                    os.waitpid(pid, 0)
                    continue
                rlist = [self.host.fd] if finishing is None else []
                if not child.eof and self.out.size < _BACKLOG:
                    rlist.append(c2p_r)  # else wait for the host to take what is queued
                if alive:
                    rlist.append(pidfd)
                wlist = [p2c_w] if to_child and alive else []
                if self.out.chunks:
                    wlist.append(self.out.fd)
                waits = [t - now for t in (deadline, finishing) if t is not None]
                if finishing is None and b"\n" in self.host.buf:
                    waits.append(0.0)  # lines already buffered (they came with the job line)
                r, w, _ = select.select(rlist, wlist, [], max(0.0, min(waits)) if waits else None)
                if self.out.fd in w:
                    self.out.flush()
                if p2c_w in w:
                    try:
                        del to_child[: os.write(p2c_w, to_child)]
                    except (BlockingIOError, BrokenPipeError):
                        pass
                if c2p_r in r:
                    child.fill()
                    for line in child.take():
                        if not alive:
                            continue  # what leftovers of a dead candidate write is dropped
                        if line.startswith(_TERMINAL):
                            deadline = None
                        self.out.put(line)
                    if child.overflowed() and alive:
                        os.killpg(pid, signal.SIGKILL)
                        self._send({"w": "overflow", "limit": self.max_line})
                        alive = False
                        os.waitpid(pid, 0)
                if pidfd in r and alive:
                    _, status = os.waitpid(pid, 0)
                    alive = False
                    child.fill()
                    for line in child.take():
                        self.out.put(line)
                    code = os.waitstatus_to_exitcode(status)
                    self._send({"w": "exit", "code": code, "oom": _oom_kills() > oom_before})
                if finishing is None and (self.host.fd in r or b"\n" in self.host.buf):
                    if self.host.fd in r:
                        self.host.fill()
                    if self.host.eof:
                        return
                    for line in self.host.take():
                        if line.startswith(b'{"w":'):
                            if json.loads(line).get("w") == "finish":
                                # let the runner exit on its own for a moment, then kill
                                finishing = time.monotonic() + 0.1
                                to_child += b'{"op":"end"}\n'
                            continue
                        if line.startswith(_TIMED):
                            # A backstop only: the host's own deadline normally fires first.
                            allowance = max(time_limit, 5.0) if line.startswith(_TIMED[0]) else time_limit
                            deadline = time.monotonic() + allowance + _GRACE
                        to_child += line
                    if to_child and alive:
                        try:
                            del to_child[: os.write(p2c_w, to_child)]
                        except (BlockingIOError, BrokenPipeError):
                            pass
        finally:
            os.close(pidfd)
            if alive:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def main():
    if os.getpid() != 1:
        # kill(-1) and the scratch wipe would hit the whole machine outside a container.
        sys.exit("worker.py runs only as PID 1 of a sandbox container (see sandbox/docker.py)")
    _harden()
    # PID 1 gets only the signals it handles: keep none (Python handles SIGINT by default).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    host = _connect(config.get("host_socket"))  # first: the engine waits for this connection
    for name in config.get("preload", ()):
        try:  # modules imported here are free for every forked candidate
            __import__(name)
        except Exception:
            pass
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(0)  # the first seeding is slow (lazy set-up); pay it once, not per child
    env = dict(config.get("env", {}))
    host_in, host_out = host
    for fd in set(host):
        os.set_blocking(fd, False)
    Worker(host_in, host_out, env, int(config.get("max_line", 64 << 20)), direct=host_in != 0).serve()


def _connect(path):
    """The engine's socket, on a fixed high descriptor, as (in, out); stdin/stdout if the
    engine mounted none (a remote daemon) or it cannot be reached."""
    if not path:
        return 0, 1
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            fd = fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, _HOST_FD)  # the lowest free fd >= 10
        return fd, fd
    except OSError as e:
        print(f"worker: no host socket at {path} ({e}); using stdin/stdout", file=sys.stderr)
        return 0, 1


if __name__ == "__main__":
    main()
