"""How many evaluations run at once, and the gate that admits them.

Evaluation concurrency follows the work instead of a fixed number of threads. An
evaluation is admitted while all three bounds hold:

- **the setting** (``workers`` in the configuration): a hard cap, none by default;
- **memory**: every running evaluation reserves its candidate's memory limit (plus the
  sandbox's own headroom) out of ``MEMORY_FRACTION`` of the memory that was available
  when the sandbox opened, so candidates that all hit their limit still fit;
- **CPU**: every running evaluation counts for the share of a core it keeps busy, and
  together they may use the cores. The share is measured on finished evaluations: the
  CPU time of the candidate, of the sandbox's own work for it (the Docker worker's fork,
  relay and sweep) and of the engine thread that drove it, over the evaluation's
  wall-clock time *not* counting the time all of them waited for a CPU, so a loaded
  machine does not make evaluations look idle (which would admit more and load it
  further). Over the last ``SHARE_WINDOW`` evaluations, the share is their CPU time over
  their time not waiting, summed (one odd evaluation does not swing it; one that
  computes for seconds among quick ones weighs in by its length), at least
  ``1 / MAX_PER_CORE``: candidates that compute all the time take a core each (a
  CPU-bound problem runs as many evaluations as there are cores), ones that mostly wait
  on their driver take a fraction, and never more than ``MAX_PER_CORE`` evaluations run
  per core. The limit is never below the number of cores. Until a first evaluation has
  finished, the share is 1.

The Docker backend's warm pool follows the admitted evaluations: it grows when more
run than it holds and shrinks when containers stay idle (see ``docker.py``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

MEMORY_FRACTION = 0.75
MAX_PER_CORE = 8
SHARE_WINDOW = 16
_MIN_SHARE = 1.0 / MAX_PER_CORE


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def available_mb() -> int | None:
    """MemAvailable from /proc/meminfo, in MB (None where there is none)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass(frozen=True)
class Bounds:
    """What a backend can hold: ``hard`` evaluations at most (memory, its own settings),
    and ``cores`` CPUs for candidates to share."""

    hard: int
    cores: int


def local_bounds(memory_mb: int, headroom_mb: int = 0, cap: int | None = None) -> Bounds:
    """This machine's bounds for candidates of ``memory_mb`` each."""
    n = cores()
    hard = MAX_PER_CORE * n
    free = available_mb()
    if free is not None:
        hard = min(hard, max(1, int(free * MEMORY_FRACTION) // max(1, memory_mb + headroom_mb)))
    if cap is not None:
        hard = min(hard, cap)
    return Bounds(hard=max(1, hard), cores=n)


class _Waiter:
    __slots__ = ("granted", "wake")

    def __init__(self, wake):
        self.granted = False
        self.wake = wake


class Capacity:
    """The admission gate of one evaluator: ``slot()`` (threads) and ``async_slot()``
    (the event loop, never blocked) wait their turn in arrival order."""

    def __init__(self, bounds: Bounds, cap: int | None = None):
        self.bounds = bounds
        self.cap = cap
        self.running = 0
        self._recent: collections.deque[tuple[float, float]] = collections.deque(maxlen=SHARE_WINDOW)
        """(CPU seconds, seconds not waiting for a CPU) of the last evaluations."""
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._lock = threading.Lock()

    # -- the bound ----------------------------------------------------------------------
    @property
    def hard(self) -> int:
        """The most evaluations that may ever run at once (size thread pools by it)."""
        return max(1, min(self.bounds.hard, self.cap or self.bounds.hard))

    def share(self) -> float:
        """The share of a core one evaluation counts for now."""
        with self._lock:
            return self._share()

    def _share(self) -> float:
        if not self._recent:
            return 1.0
        cpu, active = (sum(x) for x in zip(*self._recent))
        return min(float(self.bounds.cores), max(_MIN_SHARE, cpu / max(active, 1e-3)))

    def limit(self) -> int:
        """How many evaluations may run at once now."""
        with self._lock:
            return self._limit()

    def _limit(self) -> int:
        # Never fewer than one per core: a share over 1 means the waits overlapped, not
        # that an evaluation needs more than its core.
        per_share = math.floor(self.bounds.cores / self._share() + 1e-9)
        return max(1, min(self.hard, max(self.bounds.cores, per_share)))

    def record(self, cpu: float | None, wall: float, wait: float | None = None) -> None:
        """Learn from a finished evaluation: the CPU seconds it used (candidate, sandbox and
        engine; None: unknown, and the evaluation counts as a whole core), its wall seconds
        and the seconds they waited for a CPU."""
        # Threads on several cores count for several cores (CPU time beyond the active time).
        active = max(wall - (wait or 0.0), 1e-3)
        with self._lock:
            self._recent.append((active if cpu is None else cpu, active))
        self._admit()

    # -- the gate -----------------------------------------------------------------------
    def _admit(self) -> None:
        with self._lock:
            limit = self._limit()
            while self._waiters and self.running < limit:
                waiter = self._waiters.popleft()
                waiter.granted = True
                self.running += 1
                try:
                    waiter.wake()
                except RuntimeError:  # its event loop is gone: give the slot on
                    waiter.granted = False
                    self.running -= 1

    def _try(self) -> bool:
        with self._lock:
            if not self._waiters and self.running < self._limit():
                self.running += 1
                return True
        return False

    def release(self) -> None:
        with self._lock:
            self.running -= 1
        self._admit()

    def _cancel(self, waiter: _Waiter) -> None:
        with self._lock:
            if not waiter.granted:
                self._waiters.remove(waiter)
                return
        self.release()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one evaluation slot (blocking this thread until one is free)."""
        if not self._try():
            event = threading.Event()
            waiter = _Waiter(event.set)
            with self._lock:
                self._waiters.append(waiter)
            self._admit()
            event.wait()
        try:
            yield
        finally:
            self.release()

    async def acquire(self) -> None:
        """Wait for a slot without blocking the event loop; ``release()`` it after."""
        if self._try():
            return
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def grant() -> None:
            if not future.done():  # cancelled meanwhile: _cancel gives the slot back
                future.set_result(None)

        def wake() -> None:
            loop.call_soon_threadsafe(grant)

        waiter = _Waiter(wake)
        with self._lock:
            self._waiters.append(waiter)
        self._admit()
        try:
            await future
        except asyncio.CancelledError:
            self._cancel(waiter)
            raise

    @contextlib.asynccontextmanager
    async def async_slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()
