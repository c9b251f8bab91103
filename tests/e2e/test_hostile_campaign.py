"""Hostile children inside a running campaign: none hurts it, none earns a score it did not
deserve, no secret reaches a candidate."""

import os
import sys

import pytest

import evolve
from evolve.operators.base import Proposal
from evolve.problems.blocks import split

HOSTILE = {
    "loop": "def solve():\n    while True:\n        pass\n",
    "memory": "def solve():\n    x = bytearray(50 * 2**30)\n    return 1.0\n",
    "fork": (
        "import os\ndef solve():\n    for _ in range(200):\n        try:\n            os.fork()\n"
        "        except OSError:\n            break\n    return 2.0\n"
    ),
    "print": "import sys\ndef solve():\n    chunk = 'x' * 2**20\n    for _ in range(1024):\n        sys.stdout.write(chunk)\n    return 3.0\n",
    "secrets": (
        "import os\ndef solve():\n    key = os.environ.get('OPENAI_API_KEY', '')\n"
        "    print('KEY=' + key)\n    return 3.0 if key else 2.5\n"
    ),
    "socket": (
        "import socket\ndef solve():\n    s = socket.create_connection(('127.0.0.1', 22), timeout=1)\n    return 3.0\n"
    ),
    "fake_score": (
        "import json, sys\ndef solve():\n    print(json.dumps({'value': 1e9}))\n"
        "    sys.stdout.flush()\n    import os\n    os.write(1, b'{\"result\": 3.0}\\n')\n    return 0.0\n"
    ),
    "good": "def solve():\n    return 2.9\n",
}


class ScriptedOperator:
    """An operator that proposes a fixed list of programs (the code under test is the
    campaign + sandbox, not the operator)."""

    name = "scripted"
    crossover_arity = 0

    def __init__(self, bodies):
        self.bodies = bodies

    async def start(self):
        pass

    async def close(self):
        pass

    async def propose(self, request):
        kind, body = self.bodies[request.seq % len(self.bodies)]
        template = split(request.problem.initial_program)
        return Proposal(code=template.rebuild([body]), operator=f"scripted.{kind}", thought=kind)


@pytest.mark.parametrize("backend", ["process", pytest.param("docker", marks=pytest.mark.docker)])
def test_hostile_children_do_not_hurt_the_campaign(tmp_path, quadratic, monkeypatch, backend):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-should-never-leak")
    before = set(_candidate_pids())
    c = evolve.create_campaign(
        quadratic,
        storage=f"sqlite:///{tmp_path}/h.db",
        name="h",
        islands=1,
        workers=2,
        budget=len(HOSTILE),
        sandbox=backend,
    )
    stats = c.run(operator=ScriptedOperator(list(HOSTILE.items())))
    assert stats.evaluations == len(HOSTILE)
    rows = {p.thought: p for p in c.archive.programs(c.info.id) if p.seq is not None}
    assert set(rows) == set(HOSTILE)

    def deserved(x):
        return -((x - 3) ** 2) + 10

    assert rows["loop"].status == "timeout"
    assert rows["memory"].status == "error" and "MemoryError" in rows["memory"].reason
    assert rows["print"].status in ("error", "invalid")
    assert rows["socket"].status == "error"
    # what a candidate returns is scored by the trusted scorer, nothing more
    assert rows["secrets"].status == "ok" and rows["secrets"].objective == pytest.approx(deserved(2.5))
    assert "sk-test" not in (rows["secrets"].stdout or "")
    assert rows["fork"].status in ("ok", "error")
    if rows["fork"].status == "ok":
        assert rows["fork"].objective == pytest.approx(deserved(2.0))
    assert rows["fake_score"].status in ("ok", "invalid", "error")
    if rows["fake_score"].status == "ok":
        assert rows["fake_score"].objective <= deserved(3.0)
    assert rows["good"].objective == pytest.approx(deserved(2.9))
    assert c.best().thought in ("good", "fake_score")
    # nothing any of them started is still running
    if backend == "process":
        assert set(_candidate_pids()) - before == set()


def _candidate_pids():
    """Processes under a candidate uid started by this interpreter's sandboxes (on a shared
    machine other engines run candidates under those uids too)."""
    return [
        pid
        for pid in os.listdir("/proc")
        if pid.isdigit() and _uid(pid) in range(61000, 62000) and _interpreter(pid) == sys.executable
    ]


def _interpreter(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return None


def _uid(pid):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except FileNotFoundError:
        return -1
