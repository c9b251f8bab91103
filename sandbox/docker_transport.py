"""The engine's end of a sandbox container's stdin/stdout, over Docker's attach socket.

Docker multiplexes a non-TTY container's output in frames (an 8-byte header: stream
kind, three zero bytes, a big-endian length); this undoes the framing, gives the worker's
lines with deadlines, and turns the worker's own reports (timeout, the candidate's exit,
an oversized message) into what ``sandbox.channel.ProtocolChannel`` expects of a
transport.
"""

from __future__ import annotations

import json
import select
import struct
import time

from sandbox.channel import MAX_LINE


class AttachTransport:
    """A container's stdin/stdout over the attach socket (Docker's 8-byte frame format)."""

    def __init__(self, sock):
        self.sock = getattr(sock, "_sock", sock)  # docker-py returns a SocketIO on unix sockets
        self.sock.setblocking(False)
        self.raw = bytearray()
        self.out = bytearray()
        self.exit: dict | None = None
        self.events: list[dict] = []

    def write(self, data: bytes) -> None:
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def _deframe(self) -> None:
        while len(self.raw) >= 8:
            kind, size = struct.unpack(">BxxxL", self.raw[:8])
            if len(self.raw) < 8 + size:
                return
            if kind == 1:  # stdout; stderr is not attached
                self.out += self.raw[8 : 8 + size]
            del self.raw[: 8 + size]

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
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.sock], [], [], min(left, 1.0))
            if ready:
                try:
                    chunk = self.sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    return None
                self.raw += chunk
                self._deframe()

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
