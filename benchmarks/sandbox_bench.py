"""Per-evaluation overhead of the sandbox backends, against a bare ``python -c``.

    python -m benchmarks.sandbox_bench [--n 40] [--messages 2000]

Prints JSON: p50/p95 milliseconds for one evaluation of a trivial candidate (one case)
through the warm Docker pool, through a ``docker run`` per candidate (same lockdown
options, offline host-runtime image), through the process backend, and for a bare
``python -c`` of the same program; then, for interactive problems (bin packing sends
one message per item), microseconds per message round trip between the trusted driver
and the harness: process backend, Docker over its direct socket, Docker over the attach
socket. Backends that cannot run here are reported as skipped with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from evolve.problems.contract import default_drive
from evolve.sandbox.base import EvalJob

CODE = "def main(x):\n    return x + 1\n"
HARNESS = "def run(program, case):\n    return program.main(case)\n"
BARE = CODE + "print(main(41))\n"


def stats(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
        "min_ms": round(ms[0], 2),
        "n": len(ms),
    }


def timed(fn, n: int, warmup: int = 2) -> dict:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return stats(samples)


def bare_python(n: int) -> dict:
    def once():
        out = subprocess.run([sys.executable, "-c", BARE], capture_output=True, check=True)
        assert out.stdout.strip() == b"42"

    return timed(once, n)


def evaluate_with(sandbox, n: int) -> dict:
    job = EvalJob(code=CODE, harness=HARNESS, cases=[41], drive=default_drive, time_limit=30)

    def once():
        result = sandbox.evaluate(job)
        assert result.status == "ok" and result.outputs == [42], result

    return timed(once, n)


PING = (
    "def run(program, case, channel):\n"
    "    while True:\n"
    "        q = channel.recv()\n"
    "        if q is None:\n"
    "            return 0\n"
    "        channel.send(q + 1)\n"
)


def _ping(case, channel):
    channel.start(case)
    for i in range(case):
        if channel.exchange(i) != i + 1:
            raise AssertionError("wrong answer")
    channel.send(None)
    return channel.result()


def round_trip(sandbox, messages: int, repeats: int = 5) -> dict:
    """Microseconds per driver -> harness -> driver message, over one evaluation."""
    job = EvalJob(code=CODE, harness=PING, cases=[messages], drive=_ping, time_limit=120)
    per = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        result = sandbox.evaluate(job)
        per.append((time.perf_counter() - start) / messages * 1e6)
        assert result.status == "ok", result
    per = sorted(per[1:])  # the first is a warm-up
    return {
        "backend": sandbox.describe(),
        "p50_us": round(statistics.median(per), 1),
        "min_us": round(per[0], 1),
        "messages": messages,
        "n": repeats,
    }


def process_round_trip(messages: int) -> dict:
    from evolve.sandbox.process import ProcessSandbox

    with ProcessSandbox(hide=[os.getcwd()]) as sb:
        return round_trip(sb, messages)


def docker_round_trip(direct: bool):
    def run(messages: int) -> dict:
        from evolve.sandbox.docker import DockerSandbox

        with DockerSandbox(pool_size=1, hide=[os.getcwd()], direct=direct) as sb:
            return round_trip(sb, messages)

    return run


def process_backend(n: int) -> dict:
    from evolve.sandbox.process import ProcessSandbox

    with ProcessSandbox(hide=[os.getcwd()]) as sb:
        return {"backend": sb.describe(), **evaluate_with(sb, n)}


def docker_pool(n: int) -> dict:
    from evolve.sandbox.docker import DockerSandbox

    with DockerSandbox(pool_size=2, hide=[os.getcwd()]) as sb:
        return {"backend": sb.describe(), **evaluate_with(sb, n)}


def docker_run(n: int) -> dict:
    """A fresh container per candidate: what the warm pool saves."""
    from evolve.sandbox.docker_client import connect
    from evolve.sandbox.docker_image import resolve

    client = connect()
    rt = resolve(client, None)
    opts = dict(
        user="65534:65534",
        network_mode="none",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit="2112m",
        memswap_limit="2112m",
        pids_limit=128,
        nano_cpus=10**9,
        tmpfs={"/tmp": "size=256m,mode=1777,noexec"},
        volumes=rt.binds,
        environment={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"},
    )

    def once():
        out = client.containers.run(rt.image, [rt.python, "-I", "-c", BARE], remove=True, **opts)
        assert out.strip() == b"42"

    return {"image": rt.image, **timed(once, n)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="evaluations per backend")
    parser.add_argument("--messages", type=int, default=2000, help="messages per interactive evaluation")
    args = parser.parse_args()
    report: dict = {
        "what": "per-evaluation wall time of a trivial candidate (one case), milliseconds; "
        "per-message round trip of an interactive job, microseconds",
        "cpus": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    for name, fn, n in (
        ("bare_python_c", bare_python, args.n),
        ("process_backend", process_backend, args.n),
        ("docker_warm_pool", docker_pool, args.n),
        ("docker_run_per_candidate", docker_run, max(5, args.n // 4)),
        ("process_round_trip", process_round_trip, args.messages),
        ("docker_direct_round_trip", docker_round_trip(True), args.messages),
        ("docker_attach_round_trip", docker_round_trip(False), args.messages),
    ):
        try:
            report[name] = fn(n)
        except Exception as e:  # a backend that cannot run here is reported, not fatal
            report[name] = {"skipped": f"{e.__class__.__name__}: {str(e)[:200]}"}
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
