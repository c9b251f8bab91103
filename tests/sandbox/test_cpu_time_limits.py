"""Time limits count the candidate's CPU time, so the verdict does not depend on how
loaded the machine is; a wall-clock backstop still stops a candidate that sleeps."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from evolve.problems.contract import default_drive
from evolve.sandbox.base import EvalJob
from evolve.sandbox.capacity import cores

HARNESS = "def run(program, case):\n    return program.main(case)\n"
BURN = (
    "import time\n"
    "def main(seconds):\n"
    "    start = time.process_time()\n"
    "    while time.process_time() - start < seconds:\n"
    "        pass\n"
    "    return seconds\n"
)
SLEEP = "import time\ndef main(seconds):\n    time.sleep(seconds)\n    return seconds\n"
LIMIT = 1.0


def job(code: str, seconds: float, time_limit: float = LIMIT) -> EvalJob:
    return EvalJob(
        code=code, harness=HARNESS, cases=[seconds], drive=default_drive, time_limit=time_limit, memory_mb=256
    )


def _hog(seconds: float) -> None:
    end = time.monotonic() + seconds  # bounded: a hog outlives nothing
    while time.monotonic() < end:
        pass


class Hogs:
    """Two busy processes per core, for as long as the block runs (at most ``seconds``)."""

    def __init__(self, seconds: float = 60.0):
        ctx = multiprocessing.get_context("fork")
        self.procs = [ctx.Process(target=_hog, args=(seconds,), daemon=True) for _ in range(2 * cores())]

    def __enter__(self):
        for p in self.procs:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.join()


def verdicts(sandbox) -> dict[str, tuple[str, str]]:
    out = {}
    for name, j in {
        "near the limit": job(BURN, 0.5),  # half its CPU allowance: several times that in wall time when loaded
        "over the limit": job(BURN, 1.6),
    }.items():
        r = sandbox.evaluate(j)
        out[name] = (r.status, "CPU time" if "CPU time per case" in (r.reason or "") else r.reason or "")
    return out


def _check(sandbox) -> None:
    quiet = verdicts(sandbox)
    assert quiet == {"near the limit": ("ok", ""), "over the limit": ("timeout", "CPU time")}, quiet
    with Hogs():
        loaded = verdicts(sandbox)
        r = sandbox.evaluate(job(BURN, 0.3))
    assert loaded == quiet
    assert r.status == "ok" and r.cpu_time is not None and r.cpu_time >= 0.25  # clock ticks

    # Sleeping spends no CPU time: the wall-clock backstop (5x the limit) stops it (else it
    # would sleep its 60 s and pass).
    r = sandbox.evaluate(job(SLEEP, 60.0, time_limit=0.4))
    assert r.status == "timeout" and "wall-clock" in r.reason and "backstop" in r.reason, r.reason


def test_process_backend_verdicts_do_not_depend_on_load():
    from evolve.sandbox.process import ProcessSandbox

    _check(ProcessSandbox())


@pytest.mark.docker
def test_docker_backend_verdicts_do_not_depend_on_load():
    from evolve.sandbox.docker import DockerSandbox

    with DockerSandbox(pool_size=1, memory_mb=256) as sb:
        _check(sb)


def test_a_candidate_cannot_hide_cpu_time_in_a_child_process():
    from evolve.sandbox.process import ProcessSandbox

    forker = (
        "import os, time\n"
        "def main(seconds):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        start = time.process_time()\n"
        "        while time.process_time() - start < seconds:\n"
        "            pass\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
        "    return seconds\n"
    )
    r = ProcessSandbox().evaluate(job(forker, 3.0))
    assert r.status == "timeout" and "CPU time" in r.reason, r.reason
