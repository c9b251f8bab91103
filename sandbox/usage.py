"""How much CPU a candidate used, read from /proc (host side; the Docker worker keeps a
copy, since it runs standalone).

A candidate is a process tree: the runner and whatever it starts. Its CPU time is the
user + system time of every process in the tree, plus what the processes it already
reaped used (the kernel adds a reaped child's time to its parent's ``cutime``/``cstime``),
so a candidate cannot hide work in a child that exits. Work in a process that leaves the
tree (a daemon reparented outside a PID namespace) is not counted; the wall-clock
backstop bounds it.

``wait`` is the time the tree's live threads were ready to run but waiting for a CPU
(``/proc/<pid>/task/<tid>/schedstat``): on a loaded machine it grows while CPU time
does not, which is what lets the sandbox tell a candidate that sleeps from one that is
starved, and the evaluator a candidate that computes from one that waits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    cpu: float = 0.0
    """CPU seconds (user + system) of the tree and of the children it reaped."""
    wait: float = 0.0
    """Seconds its live threads spent waiting for a CPU."""

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.cpu - other.cpu, self.wait - other.wait)


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:  # gone (exited and reaped) or not ours to read
        return None


def process_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of one process, in clock ticks (0 if gone)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return 0
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces and parentheses
    return sum(int(x) for x in fields[11:15])


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def tree(root: int) -> list[int]:
    """``root`` and its descendants (every thread's children), parents first."""
    seen, order, todo = {root}, [root], [root]
    while todo:
        pid = todo.pop()
        for tid in _tasks(pid):
            for child in (_read(f"/proc/{pid}/task/{tid}/children") or "").split():
                c = int(child)
                if c not in seen:
                    seen.add(c)
                    order.append(c)
                    todo.append(c)
    return order


def tree_usage(root: int) -> Usage:
    """CPU and run-queue wait of the process tree under ``root`` (root included)."""
    ticks, wait_ns = 0, 0
    for pid in tree(root):
        ticks += process_ticks(pid)
        for tid in _tasks(pid):
            sched = _read(f"/proc/{pid}/task/{tid}/schedstat")
            if sched:
                wait_ns += int(sched.split()[1])
    return Usage(ticks / TICK, wait_ns / 1e9)
