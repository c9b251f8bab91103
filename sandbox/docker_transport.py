"""How the engine's bytes reach a sandbox container's worker, and back.

Two transports, the same line protocol (``sandbox/worker.py``) on both:

- ``DirectTransport`` (the default with a local daemon): a unix socket the engine
  listens on in a private host directory (``HostSocket``), bind-mounted read-only into
  the container; the worker connects to it once at start-up and the engine closes the
  listener and deletes the directory right after accepting that one connection. Bytes go
  engine -> kernel -> worker, without dockerd or the shim in between (~5x faster per
  message round trip, which is what interactive problems pay per item).
- ``AttachTransport`` (the fallback: a remote daemon, or a worker that found no socket):
  the container's stdin/stdout over Docker's attach socket, in Docker's 8-byte frames.

Both turn the worker's own reports (timeout, the candidate's exit, an oversized message)
into what ``evolve.sandbox.channel.ProtocolChannel`` expects of a transport.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import socket
import stat
import struct
import tempfile
import time

from evolve.sandbox.channel import MAX_LINE

log = logging.getLogger(__name__)

CONTAINER_DIR = "/run/evolve-sandbox"
"""Where the socket directory appears inside the container (read-only)."""
CONTAINER_SOCKET = f"{CONTAINER_DIR}/sock"
_PREFIX = "evolve-sbsock-"
_WRITE_TIMEOUT = 30.0  # a worker that takes no input for this long is broken
_READ_AHEAD = MAX_LINE + (1 << 20)  # what a write may buffer of the worker's output meanwhile


class _Transport:
    """Lines from a non-blocking socket, with deadlines; writes that never deadlock."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.setblocking(False)
        self.out = bytearray()
        self.eof = False
        self.exit: dict | None = None
        self.events: list[dict] = []

    def _feed(self, chunk: bytes) -> None:
        self.out += chunk

    def _pull(self) -> None:
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:  # reset by a dying peer: the same as an end of stream
            chunk = b""
        if not chunk:
            self.eof = True
        else:
            self._feed(chunk)

    def write(self, data: bytes) -> None:
        """Send everything; keep reading meanwhile so a worker busy writing to us cannot
        block the exchange. OSError (TimeoutError included) if the worker is gone or stuck."""
        view = memoryview(data)
        deadline = time.monotonic() + _WRITE_TIMEOUT
        while view:
            try:
                view = view[self.sock.send(view) :]
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the sandbox worker stopped reading")
            rlist = [self.sock] if not self.eof and len(self.out) < _READ_AHEAD else []
            r, _, _ = select.select(rlist, [self.sock], [], min(left, 1.0))
            if r:
                self._pull()

    def next_line(self, deadline: float) -> bytes | None:
        """The worker's next line, whatever it is; None at end of stream."""
        while True:
            nl = self.out.find(b"\n")
            if nl >= 0:
                line = bytes(self.out[: nl + 1])
                del self.out[: nl + 1]
                return line
            if len(self.out) > MAX_LINE:
                raise ValueError("message too large")
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.sock], [], [], min(left, 1.0))
            if ready:
                self._pull()

    def read_line(self, deadline: float) -> bytes | None:
        """The runner's next line; the worker's own reports end the stream or raise."""
        if self.exit is not None:
            return None
        line = self.next_line(deadline)
        if line is None or not line.startswith(b'{"w":'):
            return line
        event = json.loads(line)
        self.events.append(event)
        if event["w"] == "timeout":
            raise TimeoutError
        if event["w"] == "overflow":
            raise ValueError("message too large")
        self.exit = event
        return None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class DirectTransport(_Transport):
    """The worker's own connection to the engine's ``HostSocket``: plain lines."""

    kind = "direct"


class AttachTransport(_Transport):
    """A container's stdin/stdout over the attach socket (Docker's 8-byte frame format)."""

    kind = "attach"

    def __init__(self, sock):
        super().__init__(getattr(sock, "_sock", sock))  # docker-py returns a SocketIO on unix sockets
        self.raw = bytearray()

    def _feed(self, chunk: bytes) -> None:
        self.raw += chunk
        while len(self.raw) >= 8:
            kind, size = struct.unpack(">BxxxL", self.raw[:8])
            if len(self.raw) < 8 + size:
                return
            if kind == 1:  # stdout; stderr is not attached
                self.out += self.raw[8 : 8 + size]
            del self.raw[: 8 + size]


def socket_root() -> str:
    """Where private socket directories are made: /run as root, else the temp directory."""
    if os.geteuid() == 0 and os.path.isdir("/run") and os.access("/run", os.W_OK):
        return "/run"
    return tempfile.gettempdir()


class HostSocket:
    """A listening unix socket for exactly one container's worker.

    ``<root>/evolve-sbsock-<pid>-XXXX/`` (mode 0700, the engine's: no other host user can
    reach what is inside) holds ``s/`` (0711: the container's uid may pass through but not
    list it) with the socket ``s/sock`` (0666: connecting needs write permission on the
    socket inode). Only ``s/`` is mounted, read-only, so a container can neither create
    anything there nor see any other host path. The directory is removed as soon as the
    worker has connected (``close``), so a candidate, which starts later, finds nothing to
    connect to.
    """

    def __init__(self) -> None:
        self.parent = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=socket_root())
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.dir = os.path.join(self.parent, "s")
            os.mkdir(self.dir)
            os.chmod(self.dir, 0o711)
            path = os.path.join(self.dir, "sock")
            self.listener.bind(path)  # OSError if the path is too long for a unix socket
            os.chmod(path, 0o666)
            self.listener.listen(1)
            self.listener.setblocking(False)
        except BaseException:
            self.close()
            raise

    def accept(self, worker_pid: int) -> socket.socket:
        """The pending connection, if it comes from the container's PID 1 (``worker_pid``,
        as the daemon reports it); ConnectionError otherwise."""
        conn, _ = self.listener.accept()
        pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        # pid 0: the peer is outside our PID namespace (the engine itself runs in a
        # container); the 0700 directory is then what keeps others out.
        if pid not in (worker_pid, 0):
            conn.close()
            raise ConnectionError(f"the sandbox socket was connected by pid {pid} (uid {uid}), not the worker")
        return conn

    def close(self) -> None:
        self.listener.close()
        shutil.rmtree(self.parent, ignore_errors=True)


def remove_stale_sockets(alive) -> int:
    """Remove socket directories left by engines on this host that no longer run
    (``alive(pid) -> bool``); returns how many."""
    root = socket_root()
    removed = 0
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    for name in names:
        pid = name[len(_PREFIX) :].partition("-")[0]
        if not name.startswith(_PREFIX) or not pid.isdigit() or alive(int(pid)):
            continue
        path = os.path.join(root, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid():  # never follow another user's link
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
