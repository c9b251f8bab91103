"""Island leases: exclusive, renewable, expiring; atomic across processes."""

from __future__ import annotations

import multiprocessing as mp
import time

from evolve.archive import Archive
from evolve.archive.new_program import NewProgram


def test_acquire_renew_release(arc, campaign):
    cid = campaign.id
    assert arc.acquire_island(cid, "w1", 30) is None  # no islands known yet
    assert arc.acquire_island(cid, "w1", 30, islands=range(3)) == 0
    assert arc.acquire_island(cid, "w2", 30, islands=range(3)) == 1
    assert arc.acquire_island(cid, "w3", 30) == 2
    assert arc.acquire_island(cid, "w4", 30) is None
    leases = {l.island: l for l in arc.leases(cid)}
    assert {i: l.owner for i, l in leases.items()} == {0: "w1", 1: "w2", 2: "w3"}
    assert leases[0].expires > time.time() + 25
    assert arc.renew_island(cid, 1, "w2", 60)
    assert not arc.renew_island(cid, 1, "w1", 60)  # not the owner
    assert not arc.release_island(cid, 1, "w1")
    assert arc.release_island(cid, 1, "w2")
    assert arc.acquire_island(cid, "w4", 30) == 1
    # Island state and counters are untouched by leasing.
    arc.set_island_state(cid, 0, {"k": 1})
    arc.add_program(cid, NewProgram(code="x = 1", island=0, status="ok", fitness=1.0))
    assert arc.leases(cid)[0].owner == "w1" and arc.get_island_state(cid, 0) == {"k": 1}
    other = arc.create_campaign("c2", "toy", {})
    assert arc.acquire_island(other.id, "w1", 30, islands=[0]) == 0  # campaigns are separate


def test_expired_lease_is_taken_over(arc, campaign):
    cid = campaign.id
    assert arc.acquire_island(cid, "dead", 1.0, islands=[0]) == 0
    assert arc.acquire_island(cid, "alive", 30) is None
    time.sleep(1.1)
    assert arc.renew_island(cid, 0, "dead", 30)  # the owner may renew while nobody took it
    assert arc.acquire_island(cid, "alive", 30) is None
    arc.renew_island(cid, 0, "dead", 1.0)
    time.sleep(1.1)
    assert arc.acquire_island(cid, "alive", 30) == 0
    assert not arc.renew_island(cid, 0, "dead", 10)  # lost for good
    assert arc.leases(cid)[0].owner == "alive"


def _grab(url: str, cid: int, worker: str, start, out) -> None:
    a = Archive(url)
    start.wait()
    got = []
    while (island := a.acquire_island(cid, worker, 60)) is not None:
        got.append(island)
    out.put((worker, got))
    a.close()


def test_concurrent_workers_never_share_an_island(archive_url):
    with Archive(archive_url) as a:
        cid = a.create_campaign("lease", "toy", {}).id
        a.acquire_island(cid, "setup", 60, islands=range(24))
        a.release_island(cid, 0, "setup")
        for i in range(1, 24):
            a.release_island(cid, i, "setup")
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_grab, args=(archive_url, cid, f"w{i}", start, out)) for i in range(4)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    taken = [i for _, got in results for i in got]
    assert sorted(taken) == list(range(24))  # every island once, no island twice
    with Archive(archive_url) as a:
        owners = {l.island: l.owner for l in a.leases(cid)}
        assert all(owners[i] == w for w, got in results for i in got)
