"""Group commits: ``add_programs`` (one transaction) and the ``WriteBehind`` queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from evolve.archive import Archive, NewProgram, SeqConflict
from evolve.archive.writebehind import WriteBehind
from evolve.operators.base import LLMCall


def _new(seq: int, island: int = 0, parents=(), status="ok", **kw) -> NewProgram:
    return NewProgram(
        code=f"x = {seq}",
        island=island,
        status=status,
        seq=seq,
        born_at=seq,
        fitness=float(seq) if status == "ok" else None,
        objective=float(seq) if status == "ok" else None,
        parent_ids=list(parents),
        metrics={"score": float(seq)},
        **kw,
    )


def test_add_programs_is_add_program_for_a_list(arc, campaign):
    seed = arc.add_program(campaign.id, NewProgram(code="seed", island=0, status="ok", fitness=0.0))
    call = LLMCall(model="m", prompt="p", response="r", input_tokens=10, output_tokens=5, cost=0.5)
    recs = arc.add_programs(
        campaign.id,
        [
            _new(1, parents=[seed.id], llm_calls=[call]),
            _new(2, island=1, parents=[seed.id]),
            _new(3, status="error", reason="boom"),
            _new(4, parents=[seed.id], publish=False),
        ],
    )
    assert [r.seq for r in recs] == [1, 2, 3, 4]
    for r in recs:
        assert arc.get_program(r.id) == r
    assert recs[0].input_tokens == 10 and recs[0].cost == 0.5
    assert [c.program_id for c in arc.llm_calls(campaign.id)] == [recs[0].id]
    assert arc.spend(campaign.id) == {"input_tokens": 10, "output_tokens": 5, "cost": 0.5, "calls": 1}
    assert arc.get_program(seed.id).n_children == 2  # the unpublished child does not count yet
    assert arc.island_sizes(campaign.id) == {0: 2, 1: 1}
    assert [p.id for p in arc.unpublished(campaign.id)] == [recs[3].id]
    assert arc.add_programs(campaign.id, []) == []


def test_add_programs_takes_new_program_records_and_checks_them(arc, campaign):
    (rec,) = arc.add_programs(campaign.id, [NewProgram(code="y = 1", island=0, status="ok", fitness=2.0)])
    assert arc.get_program(rec.id).fitness == 2.0
    with pytest.raises(TypeError, match="colour"):
        NewProgram(code="y = 2", island=0, status="error", colour="red")
    with pytest.raises(ValueError, match="needs a fitness"):
        NewProgram(code="y = 2", island=0, status="ok")
    with pytest.raises(TypeError, match="NewProgram records, not dict"):
        arc.add_programs(campaign.id, [_new(9), dict(code="y = 3", island=0, status="error")])
    with pytest.raises(ValueError, match="same seq twice"):
        arc.add_programs(campaign.id, [_new(12), _new(12)])
    assert arc.count(campaign.id) == 1  # nothing of the refused batches was stored


def test_a_stored_seq_fails_the_whole_batch_or_is_skipped(arc, campaign):
    arc.add_program(campaign.id, NewProgram(code="x = 2", island=0, status="ok", fitness=2.0, seq=2))
    with pytest.raises(SeqConflict, match="seq 2"):
        arc.add_programs(campaign.id, [_new(1), _new(2), _new(3)])
    assert arc.done_seqs(campaign.id) == {2}  # all or nothing
    recs = arc.add_programs(campaign.id, [_new(1), _new(2), _new(3)], skip_stored_seqs=True)
    assert [r and r.seq for r in recs] == [1, None, 3]
    assert arc.done_seqs(campaign.id) == {1, 2, 3}
    assert arc.island_sizes(campaign.id) == {0: 3}  # positions stay dense


def test_write_behind_groups_commits_and_isolates_failures(arc, campaign):
    arc.add_program(campaign.id, NewProgram(code="taken", island=0, status="ok", fitness=0.0, seq=50))
    calls = []
    real = arc.add_programs
    arc.add_programs = lambda cid, programs, **kw: calls.append(len(programs)) or real(cid, programs, **kw)
    with WriteBehind(arc, max_batch=64) as writes:
        futures = {}

        def submit(lo):
            for s in range(lo, lo + 40):
                futures[s] = writes.submit(campaign.id, _new(s, island=s % 2))

        threads = [threading.Thread(target=submit, args=(lo,)) for lo in (0, 40, 80)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with pytest.raises(SeqConflict):
            writes.flush()  # seq 50 was stored before: only its own program fails
        with pytest.raises(SeqConflict):
            futures[50].result()
        assert all(f.result().seq == s for s, f in futures.items() if s != 50)
        assert writes.pending == 0
        writes.flush()  # the error was reported once
    assert arc.done_seqs(campaign.id) == set(range(120))
    assert sum(1 for n in calls if n > 1) >= 1  # some commits held several programs
    with pytest.raises(RuntimeError, match="closed"):
        writes.submit(campaign.id, _new(500))


def test_write_behind_flush_can_leave_errors_to_the_futures(arc, campaign):
    with WriteBehind(arc) as writes:
        arc.add_program(campaign.id, _new(1))
        bad = writes.submit(campaign.id, _new(1))  # seq 1 is taken
        good = writes.submit(campaign.id, _new(2))
        writes.flush(raise_errors=False)
        assert isinstance(bad.exception(), SeqConflict) and good.result().seq == 2


_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from evolve.archive import Archive, NewProgram
    from evolve.archive.writebehind import WriteBehind
    arc = Archive(sys.argv[1])
    cid = arc.create_campaign("k", "toy", {}).id
    writes = WriteBehind(arc)
    for s in range(100000):
        writes.submit(cid, NewProgram(code=f"x = {s}", island=s % 3, status="ok", fitness=float(s), seq=s))
        if s % 250 == 249:
            writes.flush()
            print(s + 1, flush=True)  # reported stored
    """
)


@pytest.mark.slow
def test_kill_9_loses_nothing_that_was_reported_stored(archive_url, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, archive_url], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    reported = 0
    for line in proc.stdout:
        reported = int(line)
        if reported >= 2000:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with Archive(archive_url) as arc:
        cid = arc.get_campaign("k").id
        stored = arc.done_seqs(cid)
        assert set(range(reported)) <= stored
        assert stored == set(range(len(stored)))  # a prefix: nothing half-written
        assert sum(arc.island_sizes(cid).values()) == len(stored)
