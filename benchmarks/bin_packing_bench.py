"""What an OR3 bin packing evaluation costs through the sandboxes, against best fit in process.

    python -m benchmarks.bin_packing_bench [--repeats 5]

OR3 is 20 instances of 500 items; the harness places every item with the candidate's
``priority`` (best fit here, the seed). Prints JSON, seconds per evaluation (median of
``repeats``, after a warm-up):

- ``in_process``: the harness's own loop in this process, items from a list: the floor;
- ``<backend>_feed``: the evaluation as the problem runs it, ``Channel.feed`` handing the
  items over inside the sandbox (the worker), one round trip per instance;
- ``<backend>_per_item``: the same packing driven with one engine round trip per item
  (the protocol before ``feed``), for comparison;

and ``ratio_*`` = sandbox time / in-process time. CPU seconds per evaluation are
reported too: the engine's (what the rest of a campaign loses to it) and in all (engine,
candidate, sandbox worker), with ``cpu_ratio_*`` against the in-process CPU time: on a
loaded machine wall-clock ratios mostly measure the load, CPU ratios much less so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import types

from evolve.problems import load_problem
from evolve.problems.bin_packing.problem import _check_choice
from evolve.sandbox.base import EvalJob


def _module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    return module


class _ListChannel:
    """The harness's channel with the items in a list: no boundary at all."""

    def __init__(self, items):
        self.items, self.i, self.out = items, 0, []

    def recv(self):
        self.i += 1
        return self.items[self.i - 1]

    def send(self, message):
        self.out.append(message)


def in_process(problem) -> tuple[float, float]:
    """(wall, CPU) seconds of the harness's loop over OR3 in this process."""
    program, harness = _module("program", problem.initial_program), _module("harness", problem.harness)
    start, cpu = time.perf_counter(), time.process_time()
    for case in problem.cases:
        channel = _ListChannel(case["items"])
        harness.run(program, {"capacity": case["capacity"], "num_items": len(case["items"])}, channel)
        assert len(channel.out) == len(case["items"])
    return time.perf_counter() - start, time.process_time() - cpu


def per_item_drive(case, channel):
    """The driver as it was before feeds: one engine round trip per item."""
    remaining = [case["capacity"]] * len(case["items"])
    channel.start({"capacity": case["capacity"], "num_items": len(case["items"])})
    decisions = []
    for step, item in enumerate(case["items"]):
        chosen = channel.exchange(item)
        _check_choice(step, item, chosen, remaining)
        remaining[chosen] -= item
        decisions.append(chosen)
    channel.result()
    return decisions


def timed(sandbox, job: EvalJob, repeats: int) -> dict:
    walls, cpus, totals = [], [], []
    for i in range(repeats + 1):
        cpu0, start = time.process_time(), time.perf_counter()
        result = sandbox.evaluate(job)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        assert result.status == "ok", result.reason
        if i:  # the first is a warm-up
            walls.append(wall)
            cpus.append(cpu)
            totals.append(cpu + (result.cpu_time or 0.0) + result.sandbox_cpu_time)
    return {
        "seconds": round(statistics.median(walls), 4),
        "engine_cpu_s": round(statistics.median(cpus), 4),
        "cpu_s": round(statistics.median(totals), 4),
    }


def backends():
    from evolve.sandbox.process import ProcessSandbox

    yield "process", lambda: ProcessSandbox(hide=[os.getcwd()])
    from evolve.sandbox.docker import DockerSandbox

    yield "docker", lambda: DockerSandbox(pool_size=1, hide=[os.getcwd()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    problem = load_problem("bin_packing")
    report: dict = {
        "what": "seconds per OR3 evaluation (20 x 500 items, best fit), median; ratio = sandbox / in process",
        "cpus": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    base = [in_process(problem) for _ in range(args.repeats + 1)][1:]
    report["in_process"] = {
        "seconds": round(statistics.median(w for w, _ in base), 4),
        "cpu_s": round(statistics.median(c for _, c in base), 4),
    }
    for name, make in backends():
        try:
            with make() as sb:
                for drive_name, drive in (("feed", problem.drive), ("per_item", per_item_drive)):
                    job = EvalJob(
                        code=problem.initial_program,
                        harness=problem.harness,
                        cases=problem.cases,
                        drive=drive,
                        time_limit=problem.time_limit,
                        memory_mb=problem.memory_mb,
                    )
                    report[f"{name}_{drive_name}"] = timed(sb, job, args.repeats)
        except Exception as e:  # a backend that cannot run here is reported, not fatal
            report[name] = {"skipped": f"{e.__class__.__name__}: {str(e)[:200]}"}
    base_s, base_cpu = report["in_process"]["seconds"], report["in_process"]["cpu_s"]
    for key in list(report):
        if key.endswith(("_feed", "_per_item")):
            report[f"ratio_{key}"] = round(report[key]["seconds"] / base_s, 2)
            report[f"cpu_ratio_{key}"] = round(report[key]["cpu_s"] / base_cpu, 2)
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
