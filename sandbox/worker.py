"""The worker inside every warm Docker sandbox container (standard library only).

It runs as the container's PID 1 and serves one job at a time to the engine, over the
unix socket the engine bind-mounts into the container (``config["host_socket"]``; see
``sandbox/docker_transport.py``) or, when that is absent, over its stdin/stdout. For
each job it forks a fresh child in a new session that calls ``runner.serve`` on
private pipes, relays the runner protocol (``sandbox/runner.py``) between the host and
that child, enforces the time limit per load/case (the candidate's CPU time, read from
/proc, with a wall-clock backstop), and afterwards kills every other process in the
container and wipes the scratch filesystems (except what is mounted there: a read-only
bind of the host's Python under /tmp is not a leftover), so nothing one candidate starts
or writes reaches the next one.

Being PID 1 matters: signals from inside the namespace cannot kill it (the kernel drops
SIGKILL/SIGTERM sent to a namespace's init by its own processes), orphans are reparented
to it so ``kill(-1)`` plus ``waitpid`` reaps everything, and it is made non-dumpable so a
candidate running as the same uid can neither ptrace it nor open its /proc fds.

Host -> worker (one JSON object per line)     worker -> host
{"w": "job", "time_limit": s,                 {"w": "hello", "pid": 1, "direct": b} at start
 "wall_factor": f}
runner lines ({"op": ...} / {"msg": ...})      runner lines of the child, relayed as-is
{"w": "finish"}                               {"w": "timeout", "clock": "cpu" | "wall"} |
                                              {"w": "exit", ...} | {"w": "overflow"} while
                                              a job runs, then {"w": "done", "stdout",
                                              "oom", "clean", "cpu", "sandbox_cpu",
                                              "wait"}

A child line that looks like a worker report (``{"w":``) is a forgery: the candidate is
killed and the host told that it broke the protocol.
"""

import collections
import ctypes
import fcntl
import json
import os
import re
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
_LOAD_ALLOWANCE = 5.0  # CPU seconds loading a candidate may take at least (as the host's channel.py)
_MIN_POLL = 0.02  # seconds between CPU-time checks, at least
_TICK = os.sysconf("SC_CLK_TCK")
_SCRATCH_ROOTS = ("/tmp", "/dev/shm")
_TERMINAL = (b'{"ready"', b'{"result"', b'{"error"')
_TIMED = (b'{"op":"load"', b'{"op":"case"')
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # built once: json.dumps(..., separators) builds one per call
_FORGED = b'{"error":"the candidate wrote a worker report into the protocol","kind":"invalid"}\n'


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


def _candidate_pids():
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and n != "1"]


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _candidate_cpu():
    """CPU seconds of every process in the container but the worker (the kernel adds a
    reaped child's time to its parent's cutime/cstime: nothing exits uncounted)."""
    ticks = 0
    for pid in _candidate_pids():
        fields = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
        if len(fields) > 14:
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / _TICK + _cpu(resource.RUSAGE_CHILDREN)


def _cpu(who):
    """User + system seconds of this process (RUSAGE_SELF) or of the children it reaped
    and theirs (RUSAGE_CHILDREN), to the microsecond."""
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _own_wait():
    """Seconds this process has waited for a CPU."""
    fields = _read("/proc/self/schedstat").split()
    return int(fields[1]) / 1e9 if len(fields) > 1 else 0.0


def _candidate_wait():
    """Seconds the candidate's live threads waited for a CPU."""
    ns = 0
    for pid in _candidate_pids():
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            fields = _read(f"/proc/{pid}/task/{tid}/schedstat").split()
            if len(fields) > 1:
                ns += int(fields[1])
    return ns / 1e9


class _NoClock:
    """A worker that runs one job for the process backend enforces no time: the engine
    measures the candidate's process tree and kills it."""

    active = False

    def start(self, load):
        pass

    def check_by(self):
        return None

    def expired(self):
        return None


class _Clock:
    """The time limit of the load or case in progress: CPU time, and a backstop on the
    wall-clock time not spent waiting for a CPU (the host's channel.py CaseClock)."""

    def __init__(self, time_limit, wall_factor):
        self.time_limit, self.wall_factor = time_limit, wall_factor
        self.parallelism = max(1, len(os.sched_getaffinity(0)))
        self.active = False
        self.allowance = self.started = self.cpu_start = self.wait_start = self.next_check = 0.0

    def start(self, load):
        self.started = time.monotonic()
        self.allowance = max(self.time_limit, _LOAD_ALLOWANCE) if load else self.time_limit
        self.cpu_start, self.wait_start = _candidate_cpu(), _candidate_wait()
        self.next_check = self.started + max(_MIN_POLL, self.allowance / self.parallelism)
        self.active = True

    def check_by(self):
        return self.next_check if self.active else None

    def expired(self):
        """'cpu' or 'wall' when the allowance or the backstop is spent, else None."""
        now = time.monotonic()
        if not self.active or now < self.next_check:
            return None
        used = _candidate_cpu() - self.cpu_start
        if used >= self.allowance:
            return "cpu"
        elapsed = now - self.started
        active = elapsed - min(elapsed, max(0.0, _candidate_wait() - self.wait_start))
        backstop = self.wall_factor * self.allowance
        if active >= backstop:
            return "wall"
        self.next_check = now + max(_MIN_POLL, min((self.allowance - used) / self.parallelism, backstop - active))
        return None


def _child(scratch, rx_fd, tx_fd, env, session=True):
    """In the forked child: become a clean session and serve the runner protocol."""
    if session:
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
    rx = os.fdopen(3, "rb")
    tx = os.fdopen(4, "wb")
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


def _mount_points():
    """Paths something is mounted on (the container's own mounts, fixed at its start)."""
    points = set()
    for line in _read("/proc/self/mountinfo").splitlines():
        fields = line.split()
        if len(fields) > 4:  # octal escapes (\040 for a space) as the kernel writes them
            points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    return points


def _wipe(mounts):
    """Empty the scratch filesystems but for the ``mounts`` under them (and the
    directories leading to those); False if something else could not be removed."""
    keep = set()
    for point in mounts:
        while point not in ("/", ""):
            keep.add(point)
            point = os.path.dirname(point)

    def unlock(func, path, _exc):
        try:  # a candidate may have chmod-ed a directory to 000
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            func(path)
        except OSError:
            pass

    def empty(directory):
        try:
            names = os.listdir(directory)
        except OSError:
            return
        for name in names:
            path = os.path.join(directory, name)
            if path in mounts:
                continue
            if path in keep:
                empty(path)  # a directory on the way to a mount: only what else is in it goes
            elif os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, onerror=unlock)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def leftovers(directory):
        try:
            names = os.listdir(directory)
        except OSError:
            return False
        for name in names:
            path = os.path.join(directory, name)
            if path not in keep or (path not in mounts and leftovers(path)):
                return True
        return False

    roots = [r for r in _SCRATCH_ROOTS if os.path.isdir(r)]
    for root in roots:
        empty(root)
    return not any(leftovers(r) for r in roots)


def _tail(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - _TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Worker:
    """Serves jobs over the host connection. ``single``: the process backend's relay for
    one job, in the engine's scratch directory, as the candidate's parent but not PID 1:
    no sweep, no wipe, no clock (the engine does those), the child stays in its group."""

    def __init__(self, host_in, host_out, env, max_line, direct=False, single=False):
        self.host = _Lines(host_in, max_line)
        self.out = _Output(host_out)
        self.env, self.max_line, self.jobs, self.direct, self.single = env, max_line, 0, direct, single
        scratch = tuple(r.rstrip("/") + "/" for r in _SCRATCH_ROOTS)
        self.mounts = set() if single else {m for m in _mount_points() if m.startswith(scratch)}

    def _kill(self, pid):
        """Kill the candidate's process (its whole session, where it has one)."""
        try:
            if self.single:
                os.kill(pid, signal.SIGKILL)
            else:
                os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _send(self, obj):
        self.out.put(_ENCODE(obj).encode() + b"\n")

    def serve(self):
        self._send({"w": "hello", "pid": os.getpid(), "direct": self.direct})
        self.out.drain()
        while True:
            line = self._host_line()
            if line is None:
                return
            req = json.loads(line)
            if req.get("w") == "job":
                limit, factor = float(req.get("time_limit", 10.0)), float(req.get("wall_factor", 5.0))
                self._job(_NoClock() if self.single else _Clock(limit, factor))
                if self.single:
                    return

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

    def _job(self, clock):
        self.jobs += 1
        cpu_before, own_before = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
        own_wait_before = _own_wait()
        if self.single:
            scratch, oom_before = os.getcwd(), 0
        else:
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
                _child(scratch, p2c_r, c2p_w, self.env, session=not self.single)
            except BaseException:
                traceback.print_exc()  # into output.log once _child redirected it
            finally:
                os._exit(70)
        os.close(p2c_r)
        os.close(c2p_w)
        os.set_blocking(c2p_r, False)
        os.set_blocking(p2c_w, False)
        try:
            wait = self._relay(pid, c2p_r, p2c_w, clock, oom_before)
        finally:
            os.close(c2p_r)
            os.close(p2c_w)
        tail = _tail(os.path.join(scratch, "output.log"))
        if self.single:  # the engine kills the process tree and removes the directory
            self._send({"w": "done", "stdout": tail, "oom": False, "clean": True})
            self.out.drain()
            return
        clean = _sweep()
        cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu_before  # all reaped by now, each counted once
        clean = _wipe(self.mounts) and clean
        _remove_ipc()
        own = _cpu(resource.RUSAGE_SELF) - own_before  # the relay, the fork, the sweep and the wipe
        done = {"w": "done", "stdout": tail, "oom": _oom_kills() > oom_before, "clean": clean}
        # Waits: the candidate's threads' and the worker's own, for the evaluator's CPU share.
        wait += _own_wait() - own_wait_before
        self._send(dict(done, cpu=round(cpu, 6), sandbox_cpu=round(own, 6), wait=round(wait, 6)))
        self.out.drain()

    def _relay(self, pid, c2p_r, p2c_w, clock, oom_before):
        """Pass lines both ways until the host says finish; report the child's end.
        Returns the seconds the candidate waited for a CPU (read before it is gone)."""
        child = _Lines(c2p_r, self.max_line)
        pidfd = os.pidfd_open(pid)
        to_child = bytearray()
        alive, finishing, wait = True, None, 0.0
        try:
            while True:
                now = time.monotonic()
                if finishing is not None and (not alive or now >= finishing):
                    return wait
                spent = clock.expired() if alive else None
                if spent:
                    self._kill(pid)
                    self._send({"w": "timeout", "clock": spent})
                    clock.active, alive = False, False
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
                waits = [t - now for t in (clock.check_by(), finishing) if t is not None]
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
                        if line.startswith(b'{"w"'):
                            self._kill(pid)
                            self.out.put(_FORGED)
                            clock.active, alive = False, False
                            os.waitpid(pid, 0)
                            continue
                        if line.startswith(_TERMINAL):
                            clock.active = False
                        self.out.put(line)
                    if child.overflowed() and alive:
                        self._kill(pid)
                        self._send({"w": "overflow", "limit": self.max_line})
                        alive = False
                        os.waitpid(pid, 0)
                if pidfd in r and alive:
                    _, status = os.waitpid(pid, 0)
                    alive = False
                    child.fill()
                    for line in child.take():
                        self.out.put(_FORGED if line.startswith(b'{"w"') else line)
                    code = os.waitstatus_to_exitcode(status)
                    self._send({"w": "exit", "code": code, "oom": _oom_kills() > oom_before})
                if finishing is None and (self.host.fd in r or b"\n" in self.host.buf):
                    if self.host.fd in r:
                        self.host.fill()
                    if self.host.eof:
                        return wait
                    for line in self.host.take():
                        if line.startswith(b'{"w":"feed"'):
                            if alive:
                                alive = self._feed(pid, pidfd, c2p_r, p2c_w, child, clock, to_child, line)
                            continue
                        if line.startswith(b'{"w":'):
                            if json.loads(line).get("w") == "finish":
                                # let the runner exit on its own for a moment, then kill
                                finishing = time.monotonic() + 0.1
                                wait = _candidate_wait() if alive else wait
                                to_child += b'{"op":"end"}\n'
                            continue
                        if line.startswith(_TIMED):
                            clock.start(load=line.startswith(_TIMED[0]))
                        to_child += line
                    if to_child and alive:
                        try:
                            del to_child[: os.write(p2c_w, to_child)]
                        except (BlockingIOError, BrokenPipeError):
                            pass
        finally:
            os.close(pidfd)
            if alive:
                self._kill(pid)

    def _feed(self, pid, pidfd, c2p_r, p2c_w, child, clock, pending, order):
        """Hand the fed messages to the child one at a time, each only after its reply to
        the one before, and send the host all replies at once: ``{"w":"fed","n":k}``, then
        the k reply lines as the child wrote them, then whatever ended the feed early (an
        error, a result, a timeout, the child's exit). The messages not yet handed over
        stay in this process, which the candidate can neither read nor trace. ``pending``
        holds lines for the child that came before the feed (the case order). Returns
        whether the child is still alive."""
        lines = [_msg_line(m) for m in json.loads(order)["msgs"]]  # encoded up front, sent one by one
        n, replies, rest, alive, ending = len(lines), [], [], True, None
        poller = select.poll()  # registered once: per message the loop is a write, a poll and a read
        poller.register(c2p_r, select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        buf, read, write, poll, now = child.buf, os.read, os.write, poller.poll, time.monotonic
        wait_ms = _ms_until(clock.check_by())
        pinned = _pin(pid)  # one CPU for both ends: a handover then wakes no other core
        try:
            if pending:  # lines that came before the feed (the case order)
                ending = self._push(p2c_w, pending)
            step = 0
            while ending is None and step < n:
                line = lines[step]
                try:  # the child took the last message before answering: its pipe has room
                    sent = write(p2c_w, line)
                except BlockingIOError:
                    sent = 0
                except BrokenPipeError:
                    sent = len(line)  # it is gone; reading says so
                if sent < len(line):
                    ending = self._push(p2c_w, bytearray(line[sent:]))
                    if ending is not None:
                        break
                nl = buf.find(b"\n")
                while nl < 0:  # wait for the child's answer
                    if not poll(wait_ms):
                        spent = clock.expired()
                        if spent:
                            ending = {"w": "timeout", "clock": spent}
                            break
                        wait_ms = _ms_until(clock.check_by())
                        continue
                    try:
                        chunk = read(c2p_r, _CHUNK)
                    except BlockingIOError:  # only the child's exit: it died, a descendant holds the pipe
                        chunk = b""
                    if not chunk:  # the child closed its end or died: what it said, then its exit
                        child.eof = True
                        break
                    buf += chunk
                    if len(buf) > self.max_line:
                        ending = {"w": "overflow", "limit": self.max_line}
                        break
                    nl = buf.find(b"\n")
                if ending is not None or nl < 0:
                    break
                answer = bytes(buf[: nl + 1])
                del buf[: nl + 1]
                if not answer.startswith(b'{"msg"'):
                    rest.append(answer)  # the feed is over (an error, a result, a forgery): relayed after
                    break
                replies.append(answer)
                step += 1
                if not step & 63 and clock.active and now() >= clock.next_check:  # quick answers use CPU too
                    spent = clock.expired()
                    if spent:
                        ending = {"w": "timeout", "clock": spent}
            rest.extend(child.take())
            if ending is None and len(replies) < n and not rest and child.eof:
                _, status = os.waitpid(pid, 0)  # it closed its end: it is gone, or going
                alive = False
                ending = {"w": "exit", "code": os.waitstatus_to_exitcode(status), "oom": False}
            if ending is not None and alive:
                self._kill(pid)
                os.waitpid(pid, 0)
                clock.active, alive = False, False
        finally:
            _unpin(pinned, pid if alive else None)
        self.out.put(b'{"w":"fed","n":%d}\n' % len(replies) + b"".join(replies))
        for line in rest:
            if line.startswith(b'{"w"'):
                if alive:
                    self._kill(pid)
                    os.waitpid(pid, 0)
                    clock.active, alive = False, False
                self.out.put(_FORGED)
                break
            if line.startswith(_TERMINAL):
                clock.active = False
            self.out.put(line)
        if ending is not None:
            self._send(ending)
        return alive

    def _push(self, fd, pending):
        """Write ``pending`` to the child (a blocking wait while its pipe is full); a
        report that ends the feed if it stops reading, else None."""
        while pending:
            try:
                del pending[: os.write(fd, pending)]
            except BlockingIOError:
                if not select.select([], [fd], [], 30.0)[1]:
                    return {"w": "timeout", "clock": "wall"}
            except BrokenPipeError:
                pending.clear()
        return None


def _ms_until(when):
    """poll()'s timeout until ``when`` (time.monotonic()), or None for no deadline."""
    return None if when is None else max(0, int((when - time.monotonic()) * 1000) + 1)


def _msg_line(message):
    if type(message) is int:  # the common case (an item size), without the encoder
        return b'{"msg":%d}\n' % message
    return _ENCODE({"msg": message}).encode() + b"\n"


def _pin(pid):
    """Pin the worker and the child to the CPU the worker runs on; the affinity before."""
    try:
        cpu = int(_read("/proc/self/stat").rpartition(")")[2].split()[36])  # field 39: the CPU
        before = os.sched_getaffinity(0)
        if cpu not in before or len(before) == 1:
            return None
        os.sched_setaffinity(0, {cpu})
        os.sched_setaffinity(pid, {cpu})
        return before
    except (OSError, ValueError, IndexError):
        return None


def _unpin(before, pid):
    if before is None:
        return
    for who in (0, pid):
        if who is not None:
            try:
                os.sched_setaffinity(who, before)
            except OSError:
                pass


def main():
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    if config.get("single"):  # the process backend's relay: one job, no sweep, not PID 1
        _harden()
        for fd in (0, 1):
            os.set_blocking(fd, False)
        Worker(0, 1, dict(config.get("env", {})), int(config.get("max_line", 64 << 20)), single=True).serve()
        return
    if os.getpid() != 1:
        # kill(-1) and the scratch wipe would hit the whole machine outside a container.
        sys.exit("worker.py runs only as PID 1 of a sandbox container (see sandbox/docker.py)")
    _harden()
    # PID 1 gets only the signals it handles: keep none (Python handles SIGINT by default).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
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
