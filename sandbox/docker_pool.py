"""A warm pool that follows demand: it grows when more evaluations run than it holds
and shrinks when what it holds stays idle.

Generic over what it pools (``docker.py`` pools containers): ``start()`` makes one
(slow, a few hundred ms for a container) and ``discard(item)`` gets rid of one. The pool
keeps ``warm`` items at least; an ``acquire`` that finds none idle starts one more in
the background (up to the ``limit`` it is given) and takes whichever becomes idle first,
so a burst is served by containers coming back as well as by new ones; at most
``max_starting`` start at once (a container start costs the daemon a few hundred ms of
CPU: a burst of them would take the cores from the evaluations). Items beyond
``warm`` that stay idle ``idle_timeout`` seconds are discarded. Idle items are reused
last-in first-out, so the ones a quieter load no longer needs are the ones that age out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from evolve.errors import SandboxError

log = logging.getLogger(__name__)

T = TypeVar("T")


class WarmPool(Generic[T]):
    def __init__(
        self,
        start: Callable[[], T],
        discard: Callable[[T], None],
        *,
        warm: int = 1,
        idle_timeout: float = 30.0,
        max_starting: int = 2,
    ):
        self._start, self._discard = start, discard
        self.warm, self.idle_timeout, self.max_starting = warm, idle_timeout, max(1, max_starting)
        self.live: set[T] = set()
        """Every item started and not yet discarded (idle or in use)."""
        self._idle: list[tuple[T, float]] = []  # (item, idle since), most recent last
        self._starting = 0
        self._failures: list[str] = []  # background starts that failed, for a waiter to report
        self._threads: set[threading.Thread] = set()
        self._cond = threading.Condition()  # notify_all: a waiter that finds nothing idle may start one
        self._stop = threading.Event()  # wakes the reaper at close
        self._closed = False
        self.started = 0
        """How many items were started in all (a measure of reuse)."""

    # -- opening and closing ------------------------------------------------------------
    def open(self) -> None:
        """Start the warm items in parallel; SandboxError if none could start."""
        with self._cond:
            self._starting += self.warm
        starters = [threading.Thread(target=self._start_one, daemon=True) for _ in range(self.warm)]
        for t in starters:
            t.start()
        for t in starters:
            t.join()
        with self._cond:
            ok, failures = bool(self.live), list(self._failures)
            self._failures.clear()
        if not ok:
            raise SandboxError(failures[0] if failures else "no sandbox could start")
        self._spawn(self._reaper)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._closed = True
            pending = list(self._threads)
            self._cond.notify_all()
        for thread in pending:  # items being started or discarded right now
            thread.join(timeout=30)
        with self._cond:
            items, self._idle = list(self.live), []
            self.live.clear()
        for item in items:
            self._discard(item)

    # -- using it -------------------------------------------------------------------------
    def acquire(self, limit: int) -> T:
        """An idle item, or a new one if fewer than ``limit`` are live or starting (waits for
        whichever comes first). A failed start is reported to one waiter as SandboxError."""
        with self._cond:
            while True:
                if self._closed:
                    raise SandboxError("this sandbox is closed")
                if self._idle:
                    item = self._idle.pop()[0]
                    break
                if self._failures:
                    raise SandboxError(self._failures.pop(0))
                if len(self.live) + self._starting < max(1, limit) and self._starting < self.max_starting:
                    self._starting += 1
                    self._spawn(self._start_one)
                self._cond.wait()
        return item

    def release(self, item: T) -> None:
        """A healthy item goes back to the idle ones."""
        with self._cond:
            if self._closed or item not in self.live:
                closed = True
            else:
                closed = False
                self._idle.append((item, time.monotonic()))
                self._cond.notify_all()
        if closed:
            self._spawn(lambda: self._discard(item))

    def retire(self, item: T) -> None:
        """An item that must not serve again: discarded; the pool keeps ``warm`` live."""
        with self._cond:
            self.live.discard(item)
            refill = not self._closed and len(self.live) + self._starting < self.warm
            if refill:
                self._starting += 1
        self._spawn(lambda: self._discard(item))
        if refill:
            self._spawn(self._start_one)

    def items(self) -> list[T]:
        """A snapshot of the live items."""
        with self._cond:
            return list(self.live)

    def idle_count(self) -> int:
        with self._cond:
            return len(self._idle)

    # -- inside -------------------------------------------------------------------------
    def _start_one(self) -> None:
        try:
            item = self._start()
        except Exception as e:  # noqa: BLE001 - reported to a waiter, who says what to do
            log.error("sandbox pool: could not start one: %s", str(e)[:300])
            with self._cond:
                self._starting -= 1
                self._failures.append(str(e)[:300])
                self._cond.notify_all()
            return
        with self._cond:
            self._starting -= 1
            self.started += 1
            if not self._closed:
                self.live.add(item)
                self._idle.append((item, time.monotonic()))
                self._cond.notify_all()
                return
        self._discard(item)

    def _reaper(self) -> None:
        """Discard items idle longer than ``idle_timeout`` while more than ``warm`` live."""
        while not self._stop.wait(timeout=max(0.05, self.idle_timeout / 4)):
            stale: list[T] = []
            with self._cond:
                now = time.monotonic()
                while self._idle and len(self.live) > self.warm and now - self._idle[0][1] >= self.idle_timeout:
                    item = self._idle.pop(0)[0]
                    self.live.discard(item)
                    stale.append(item)
            for item in stale:
                self._discard(item)

    def _spawn(self, target: Callable[[], None]) -> None:
        def run() -> None:
            try:
                target()
            finally:
                with self._cond:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, daemon=True)
        with self._cond:
            self._threads.add(thread)
        thread.start()
