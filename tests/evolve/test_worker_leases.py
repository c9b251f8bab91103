"""Several processes on one campaign: a dead worker's island is taken over while the
survivors work, a worker-run campaign ends `finished`, and a second `evolve run` of a
running campaign refuses at start instead of evaluating twice. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

import evolve
from evolve.worker import run_worker
from tests.e2e.conftest import QUADRATIC


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/workers.db"
    return request.getfixturevalue("postgres_schema_url")


def _seeded(storage: str, budget: int, islands: int = 2):
    settings = dict(storage=storage, name="bp", islands=islands, workers=1, sandbox="process", seed=5)
    evolve.create_campaign(QUADRATIC, budget=0, **settings).run()  # seeds every island, evaluates nothing
    return evolve.create_campaign(QUADRATIC, budget=budget, **settings)


def test_an_orphaned_island_is_taken_over_while_the_survivor_works(storage):
    campaign = _seeded(storage, budget=60)
    # A worker that leased island 0 and died: its lease is never renewed.
    assert campaign.archive.acquire_island(campaign.info.id, "ghost:1", 1.0, islands=[0]) == 0
    told: list[int] = []
    lock = threading.Lock()

    def on_tell(record, stats):
        with lock:
            told.append(record.island)

    stored = run_worker(campaign, "survivor", ttl=1.0, on_tell=on_tell)
    assert stored == 60
    status = campaign.status()
    assert status["evaluations"] == 60 and status["status"] == "finished"
    # Island 1 was leased first; island 0 was taken over before island 1 was done.
    assert told[0] == 1
    assert told.index(0) < len(told) - 1 - told[::-1].index(1), told


def test_a_campaign_run_by_workers_ends_finished(storage):
    # As `evolve worker bp --problem ... --budget 6` creates it: no `evolve run` involved.
    campaign = evolve.create_campaign(
        QUADRATIC, storage=storage, name="bp", budget=6, islands=2, workers=1, sandbox="process"
    )
    assert campaign.status()["status"] == "created"
    run_worker(campaign, "w1", ttl=5.0)
    assert evolve.load_campaign("bp", storage).status()["status"] == "finished"


def _cli(args, cwd, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOLVE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "evolve", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def test_a_second_run_of_a_running_campaign_refuses_at_start(storage, tmp_path):
    args = ["run", QUADRATIC, "--storage", storage, "--name", "twice", "--budget", "40", "--islands", "2"]
    args += ["--workers", "1", "--sandbox", "process", "--no-progress"]
    first = _cli(args, tmp_path)
    try:
        deadline = time.monotonic() + 120
        while True:  # wait until the first run holds the campaign and is evaluating
            archive = evolve.load_campaign("twice", storage).archive if _exists(storage, "twice") else None
            if archive is not None and evolve.load_campaign("twice", storage).status()["evaluations"] > 0:
                break
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.2)
        second = _cli(args, tmp_path)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2, (out, err)
        [line] = err.strip().splitlines()
        assert f"{socket.gethostname()}:{first.pid}" in line and "evolve worker" in line, line
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    status = evolve.load_campaign("twice", storage).status()
    assert status["evaluations"] == 40 and status["seeds"] == 2
    assert sum(v for k, v in status["by_status"].items() if k not in ("duplicate", "rejected")) == 40


def _exists(storage: str, name: str) -> bool:
    try:
        evolve.load_campaign(name, storage)
    except evolve.CampaignNotFound:
        return False
    return True


def test_a_killed_run_resumes_at_once(storage, tmp_path):
    args = ["run", QUADRATIC, "--storage", storage, "--name", "killed", "--budget", "30", "--islands", "2"]
    args += ["--workers", "1", "--sandbox", "process", "--no-progress"]
    first = _cli(args, tmp_path)
    deadline = time.monotonic() + 120
    while not (_exists(storage, "killed") and evolve.load_campaign("killed", storage).status()["evaluations"] > 0):
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    first.kill()
    first.wait()
    again = _cli(args, tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err  # its lease names a dead process of this machine: free
    assert json.loads(json.dumps(evolve.load_campaign("killed", storage).status()))["evaluations"] == 30
