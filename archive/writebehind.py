"""A write-behind queue with group commit, for callers that store many programs.

    with WriteBehind(archive) as writes:
        fut = writes.submit(campaign_id, NewProgram(code=..., island=0, status="ok", fitness=1.0, seq=7))
        ...
        record = fut.result()      # committed: now it may be reported as stored
        writes.flush()             # or: everything submitted so far is committed

One background thread takes whatever has queued up and stores it with
``Archive.add_programs`` in one transaction (group commit): while it commits one batch
the next one gathers, so an idle queue adds no delay and a busy one pays one commit per
batch instead of one per program.

The contract: **a program is stored only once its future has resolved, or once
``flush()`` has returned.** Report nothing about it (progress, callbacks, publishing, an
answer to ``tell``) before; a crash (even ``kill -9``) may lose what was submitted and
not yet committed, never what was reported. If a batch fails, each of its programs is
retried alone, so only the program at fault (a ``SeqConflict``, a bad field) gets the
exception, on its own future; ``flush()`` also raises the first such error since the last
flush (``raise_errors=False`` leaves them to the futures).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING

from evolve.archive.new_program import NewProgram
from evolve.archive.records import ProgramRecord

if TYPE_CHECKING:
    from evolve.archive.store import Archive

log = logging.getLogger(__name__)


class WriteBehind:
    def __init__(self, archive: Archive, *, max_batch: int = 256):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self.archive, self.max_batch = archive, max_batch
        self._queue: deque[tuple[int, int, NewProgram, Future[ProgramRecord]]] = deque()
        self._cond = threading.Condition()
        self._submitted = 0  # tickets handed out
        self._done = 0  # tickets whose futures are resolved (stored or failed)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="evolve-archive-writes", daemon=True)
        self._thread.start()

    def submit(self, campaign_id: int, program: NewProgram) -> Future[ProgramRecord]:
        """Queue one new program; its future gives the stored record once committed."""
        fut: Future[ProgramRecord] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("this write-behind queue is closed")
            self._submitted += 1
            self._queue.append((self._submitted, campaign_id, program, fut))
            self._cond.notify_all()
        return fut

    def flush(self, timeout: float | None = None, *, raise_errors: bool = True) -> None:
        """Block until everything submitted before this call is committed (or failed).
        Raises the first failure since the previous flush, unless ``raise_errors`` is
        False (for callers that handle each future's exception themselves)."""
        with self._cond:
            target = self._submitted
            if not self._cond.wait_for(lambda: self._done >= target, timeout):
                raise TimeoutError(f"{target - self._done} program(s) still not stored after {timeout} s")
            error, self._error = self._error, None
        if error is not None and raise_errors:
            raise error

    @property
    def pending(self) -> int:
        """Programs submitted and not yet resolved."""
        with self._cond:
            return self._submitted - self._done

    def close(self) -> None:
        """Store what is queued, then stop the thread (raises like ``flush``)."""
        with self._cond:
            if self._closed:
                return
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._thread.join()

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            # One campaign per transaction: split into runs of the same campaign, in order.
            start = 0
            for i in range(1, len(batch) + 1):
                if i == len(batch) or batch[i][1] != batch[start][1]:
                    self._commit(batch[start:i])
                    start = i
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()

    def _commit(self, batch: list[tuple[int, int, NewProgram, Future[ProgramRecord]]]) -> None:
        cid = batch[0][1]
        try:
            records = self.archive.add_programs(cid, [p for _, _, p, _ in batch])
        except BaseException as e:  # noqa: BLE001 - isolate the culprit below
            if len(batch) == 1:
                self._fail(batch[0][3], e)
                return
            log.debug("batch of %d failed (%s); storing its programs one by one", len(batch), e)
            for item in batch:
                self._commit([item])
            return
        for (_, _, _, fut), rec in zip(batch, records):
            assert rec is not None  # without skip_stored_seqs every program is stored
            fut.set_result(rec)

    def _fail(self, fut: Future, error: BaseException) -> None:
        fut.set_exception(error)
        with self._cond:
            if self._error is None:
                self._error = error
