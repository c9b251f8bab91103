"""Several `evolve worker` processes on one PostgreSQL campaign; one is killed mid-run.
The campaign still finishes its budget, with no evaluation lost or stored twice."""

import os
import signal
import subprocess
import sys
import time

import pytest

import evolve
from evolve.constants import EVALUATED_STATUSES as EVALUATED
from tests.e2e.conftest import QUADRATIC

pytestmark = pytest.mark.postgres


def _rows(archive, cid):
    return {p.seq: (p.id, p.island, p.code, p.status) for p in archive.programs(cid) if p.seq is not None}


def test_workers_share_islands_and_survive_a_kill(postgres_schema_url, tmp_path):
    url = postgres_schema_url
    c = evolve.create_campaign(
        QUADRATIC, storage=url, name="multi", budget=80, islands=4, workers=1, sandbox="process", seed=2
    )
    procs = {}
    for n in range(3):
        procs[f"w{n}"] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evolve",
                "worker",
                "multi",
                "--storage",
                url,
                "--ttl",
                "3",
                "--worker-name",
                f"w{n}",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    victim = None
    deadline = time.time() + 120
    while time.time() < deadline and victim is None:
        time.sleep(0.3)
        rows = _rows(c.archive, c.info.id)
        held = [lease.owner for lease in c.archive.leases(c.info.id) if lease.owner]
        if len(rows) >= 12 and held:
            victim = held[0]
    assert victim is not None, "the workers never got going"
    victim_islands = {lease.island for lease in c.archive.leases(c.info.id) if lease.owner == victim}
    os.killpg(procs[victim].pid, signal.SIGKILL)
    procs[victim].wait()
    before = _rows(c.archive, c.info.id)

    for name, proc in procs.items():
        if name != victim:
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, out

    after = _rows(c.archive, c.info.id)
    assert all(after[s] == row for s, row in before.items()), "a stored evaluation changed or vanished"
    evaluated = [s for s, row in after.items() if row[3] in EVALUATED]
    assert len(evaluated) == 80
    for island in range(4):  # every island got its share, the victim's too
        assert sum(1 for s in evaluated if s % 4 == island) == 20
    # the victim's island was finished by someone else
    owners = {lease.island: lease.owner for lease in c.archive.leases(c.info.id)}
    assert all(owners.get(i) != victim for i in victim_islands)
    assert c.best().objective > -((0.5 - 3) ** 2) + 10
