"""The hostile suite: adversarial candidates against both sandbox backends.

Each attack must end failed or correctly scored, within a bounded time, with nothing it
started still running, no secret reaching it, nothing written outside its scratch
space, and the sandbox still serving honest candidates afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from hostile_attacks import ATTACKS, Attack
from hostile_problem import PRELUDE, SECRET, greedy_value, job, judge, optimum

GREEDY = greedy_value()
OPTIMUM = optimum()
HONEST = "def main(weights, values, capacity):\n    return _greedy(weights, values, capacity)\n"


def survivors(mark: str) -> list[str]:
    """Live (not zombie) processes on this host that carry the attack's name tag."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
        if comm == mark and state != "Z":
            found.append(f"{pid} {state}")
    return found


def wait_no_survivors(mark: str, seconds: float = 3.0) -> list[str]:
    end = time.monotonic() + seconds
    while True:
        left = survivors(mark)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)


def _postgres_ports() -> list[int]:
    """Ports a PostgreSQL archive may listen on here: the default and the test server's."""
    ports = {5432}
    url = os.environ.get("EVOLVE_TEST_POSTGRES_URL", "")
    if url:
        from sqlalchemy.engine import make_url

        ports.add(make_url(url).port or 5432)
    return sorted(ports)


def _docker_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://") :] if host.startswith("unix://") else "/var/run/docker.sock"


def answer_keys() -> list[str]:
    """Where this engine's Evolve keeps the answers: the optimal tours, the law's source."""
    import evolve.problems.symbolic_regression.problem as sr
    import evolve.problems.tsp as tsp

    return [os.path.join(os.path.dirname(tsp.__file__), "tsp_instances.json"), sr.__file__]


def install_roots() -> list[str]:
    """Where this engine's Evolve is installed: the repository (an editable install) or
    the site-packages directory holding it."""
    import evolve

    package = os.path.dirname(os.path.realpath(evolve.__file__))
    return [os.path.dirname(package)]


def render(attack: Attack, mark: str, planted: dict, port: int) -> str:
    files = [p for k, p in planted.items() if not k.startswith("drop@")]
    drops = [p for k, p in planted.items() if k.startswith("drop@")]
    dirs = sorted({os.path.dirname(p) for p in files})
    return (
        attack.code.replace("__FILES__", json.dumps(files))
        .replace("__DIRS__", json.dumps(dirs))
        .replace("__PGPORTS__", json.dumps(_postgres_ports()))
        .replace("__DOCKER_SOCK__", _docker_socket())
        .replace("__DROPS__", json.dumps(drops))
        .replace("__PORT__", str(port))
        .replace("__KEYS__", json.dumps(answer_keys()))
        .replace("__ROOTS__", json.dumps(install_roots()))
        .replace("__MARK__", mark)
    )


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_contained(sandbox, attack, planted, secret_process, host_service, request):
    if sandbox.variant in attack.xfail:
        request.applymarker(pytest.mark.xfail(reason=attack.xfail[sandbox.variant], strict=True))
    mark = "hx" + uuid.uuid4().hex[:12]
    before = len(host_service.received)
    result = sandbox.evaluate(job(render(attack, mark, planted, host_service.port), mark))
    outcome = judge(result)
    detail = (
        f"{attack.name} on {sandbox.name}: {outcome.kind} {result.status} {result.reason!r}\n{result.stdout[-1500:]}"
    )

    if attack.expect == "fail":
        assert outcome.kind == "failed" and result.status in attack.statuses, detail
    elif attack.expect == "honest":
        assert outcome.kind == "scored" and outcome.value == GREEDY, detail
        assert "ATTACK-DONE" in result.stdout, detail
    elif attack.expect == "no_gain":
        assert outcome.kind in ("failed", "invalid") or outcome.value <= OPTIMUM, detail
    else:  # contained
        assert outcome.kind == "failed" or outcome.value == GREEDY, detail

    assert len(result.stdout) <= 5000, detail
    assert not wait_no_survivors(mark), f"{detail}\nsurvivors: {survivors(mark)}"
    # No secret reached the candidate, nothing escaped to the network or the disk.
    assert SECRET not in result.stdout and SECRET not in json.dumps(result.outputs), detail
    for word in ("FOUND", "READ ", "DB ", "WROTE", "CONNECTED", "ESCALATED"):
        assert word not in result.stdout, detail
    if attack.name == "daemon_outlives_the_limit":
        time.sleep(1.0)  # the daemon would try to connect every 0.2 s
    assert len(host_service.received) == before, f"{detail}\nthe host service got {host_service.received[before:]}"
    for key, path in planted.items():
        if key.startswith("drop@"):
            assert not os.listdir(path), f"{detail}\nwritten: {os.listdir(path)}"
    for path in ("/etc", "/usr/lib", "/"):
        assert not os.path.exists(os.path.join(path, f"owned-{mark}")), detail

    # The sandbox still serves honest candidates afterwards.
    after = judge(sandbox.evaluate(job(HONEST, mark + "h")))
    assert after.kind == "scored" and after.value == GREEDY, f"{attack.name} broke the sandbox: {after.result}"


def test_nothing_leaks_from_one_candidate_to_the_next(sandbox):
    token = uuid.uuid4().hex
    leave = (
        "import ctypes\n"
        "def main(weights, values, capacity):\n"
        "    ctypes.CDLL(None).shmget(0x5EC7E8, 4096, 0o1666)\n"
        "    for d in ('.', '/tmp', '/dev/shm', _os.environ.get('HOME', '.'), _os.environ.get('TMPDIR', '.')):\n"
        "        try:\n"
        f"            open(_os.path.join(d, 'leak-{token}'), 'w').write('{token}')\n"
        "        except OSError:\n"
        "            pass\n"
        "    return _greedy(weights, values, capacity)\n"
    )
    look = (
        "import ctypes, glob\n"
        "def main(weights, values, capacity):\n"
        "    if ctypes.CDLL(None).shmget(0x5EC7E8, 0, 0) >= 0:\n"
        "        print('LEAK shared memory')\n"
        "    for d in ('.', '..', '../*', '/tmp', '/tmp/*', '/dev/shm', _os.environ.get('HOME', '.')):\n"
        "        for path in glob.glob(_os.path.join(d, 'leak-*')):\n"
        "            print('LEAK', path)\n"
        "    return _greedy(weights, values, capacity)\n"
    )
    first = judge(sandbox.evaluate(job(leave, "hxleave")))
    assert first.kind == "scored", first.result
    second = judge(sandbox.evaluate(job(look, "hxlook")))
    assert second.kind == "scored", second.result
    assert "LEAK" not in second.result.stdout, second.result.stdout


def test_the_answer_key_attack_finds_the_keys_outside_a_sandbox(tmp_path):
    """The attack is real: run directly by this interpreter (it only reads files), it reads
    both answer keys and imports the package, so its failing in the sandbox is the sandbox."""
    attack = next(a for a in ATTACKS if a.name == "reads_the_answer_keys")
    code = PRELUDE.replace("__MARK__", "hxcontrol") + render(attack, "hxcontrol", {}, 0)
    done = subprocess.run(
        [sys.executable, "-I", "-c", code + "\nmain([5], [1], 10)\n"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for key in answer_keys():
        assert f"READ {key}" in done.stdout, done.stdout
    assert "FOUND import evolve.problems.tsp" in done.stdout and "FOUND resource" in done.stdout, done.stdout
