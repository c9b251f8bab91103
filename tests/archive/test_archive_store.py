"""Campaigns, adding and reading programs, spend, island state and events, on SQLite
and PostgreSQL."""

from __future__ import annotations

import math

import pytest

from evolve.archive import Archive, SeqConflict, code_hash
from evolve.archive.new_program import NewProgram
from evolve.errors import ConfigError
from evolve.operators.base import LLMCall


def _call(i: int = 0, **kw) -> LLMCall:
    base = dict(
        model="m-1",
        prompt=[{"role": "user", "content": f"improve {i}"}],
        response=f"```python\nx={i}\n```",
        input_tokens=10 + i,
        output_tokens=5 + i,
        cost=0.01 * (i + 1),
        latency=0.5,
    )
    base.update(kw)
    return LLMCall(**base)


def test_campaign_lifecycle(arc):
    c = arc.create_campaign("bp", "bin_packing", {"islands": 4, "nested": {"a": [1, 2]}})
    assert (c.name, c.problem, c.config, c.status, c.state) == (
        "bp",
        "bin_packing",
        {"islands": 4, "nested": {"a": [1, 2]}},
        "created",
        {},
    )
    assert c.created_at.tzinfo is not None
    assert arc.get_campaign("bp") == c
    assert arc.get_campaign("nope") is None
    with pytest.raises(ConfigError, match="already exists"):
        arc.create_campaign("bp", "other", {})
    d = arc.create_campaign("second", "toy", {})
    assert [x.name for x in arc.list_campaigns()] == ["bp", "second"]
    updated = arc.update_campaign(c.id, status="running", state={"next_seq": 7})
    assert (updated.status, updated.state, updated.config) == ("running", {"next_seq": 7}, c.config)
    assert updated.updated_at >= c.updated_at
    arc.update_campaign(c.id, config={"islands": 8})
    assert arc.get_campaign("bp").config == {"islands": 8}
    assert arc.get_campaign("bp").state == {"next_seq": 7}
    assert arc.get_campaign_by_id(d.id).name == "second"
    with pytest.raises(ValueError, match="no campaign"):
        arc.update_campaign(9999, status="x")


def test_add_program_stores_everything(arc, campaign):
    calls = [_call(0), _call(1, purpose="reflect", error="timeout", response=None)]
    p = arc.add_program(
        campaign.id,
        NewProgram(
            code="def main():\n    return 1\n",
            island=1,
            status="ok",
            seq=3,
            born_at=5,
            generation=2,
            operator="llm.diff",
            model="m-1",
            metrics={"score": 0.5, "aux": float("nan"), "inf": float("inf")},
            objective=0.5,
            fitness=-0.5,
            descriptor={"len": 3.0},
            feedback="fine",
            thought="idea",
            stdout="out",
            eval_time=1.5,
            proposal_time=2.5,
            llm_calls=calls,
        ),
    )
    got = arc.get_program(p.id)
    assert got.code == "def main():\n    return 1\n" and got.code_hash == code_hash(got.code)
    assert (got.seq, got.born_at, got.island, got.generation, got.operator, got.model) == (
        3,
        5,
        1,
        2,
        "llm.diff",
        "m-1",
    )
    assert (got.objective, got.fitness, got.status, got.descriptor) == (0.5, -0.5, "ok", {"len": 3.0})
    assert (got.feedback, got.thought, got.stdout, got.eval_time, got.proposal_time) == (
        "fine",
        "idea",
        "out",
        1.5,
        2.5,
    )
    assert got.metrics["score"] == 0.5 and math.isnan(got.metrics["aux"]) and got.metrics["inf"] == math.inf
    # Totals default to the sum of the calls.
    assert (got.input_tokens, got.output_tokens) == (21, 11) and got.cost == pytest.approx(0.03)
    assert got.parent_ids == [] and got.n_children == 0 and got.duplicate_of is None
    assert p.id == got.id and p.code_hash == got.code_hash and p.metrics.keys() == got.metrics.keys()
    stored = arc.llm_calls(campaign.id)
    assert [c.purpose for c in stored] == ["propose", "reflect"]
    assert stored[0].prompt == [{"role": "user", "content": "improve 0"}] and stored[0].response.startswith("```python")
    assert all(c.program_id == p.id and c.seq == 3 for c in stored)
    assert (stored[1].error, stored[1].response, stored[1].latency) == ("timeout", None, 0.5)
    assert arc.llm_calls(program_id=p.id) == stored
    assert arc.spend(campaign.id) == {"input_tokens": 21, "output_tokens": 11, "cost": pytest.approx(0.03), "calls": 2}


def test_explicit_totals_and_calls_without_program(arc, campaign):
    p = arc.add_program(
        campaign.id,
        NewProgram(
            code="x = 1",
            island=0,
            status="error",
            reason="boom",
            input_tokens=7,
            output_tokens=3,
            cost=1.0,
            llm_calls=[_call(0)],
        ),
    )
    assert (p.input_tokens, p.output_tokens, p.cost) == (7, 3, 1.0)  # explicit totals kept
    ids = arc.add_llm_calls(campaign.id, [_call(2, purpose="reflect", prompt="plain text prompt")], seq=9)
    assert len(ids) == 1
    rec = arc.llm_calls(campaign.id)[-1]
    assert (rec.program_id, rec.seq, rec.prompt, rec.purpose) == (None, 9, "plain text prompt", "reflect")
    assert arc.spend(campaign.id) == {"input_tokens": 22, "output_tokens": 12, "cost": pytest.approx(0.04), "calls": 2}
    assert arc.add_llm_calls(campaign.id, []) == []


def test_seq_is_unique_and_a_conflict_changes_nothing(arc, campaign):
    first = arc.add_program(campaign.id, NewProgram(code="a = 1", island=0, status="ok", fitness=1.0, seq=0))
    before = (arc.count(campaign.id), arc.spend(campaign.id), arc.get_program(first.id).n_children)
    with pytest.raises(SeqConflict, match="seq 0"):
        arc.add_program(
            campaign.id,
            NewProgram(
                code="b = 2", island=0, status="ok", fitness=2.0, seq=0, parent_ids=[first.id], llm_calls=[_call()]
            ),
        )
    assert (arc.count(campaign.id), arc.spend(campaign.id), arc.get_program(first.id).n_children) == before
    assert arc.llm_calls(campaign.id) == []
    # Programs without seq (seeds, imports) never conflict; other campaigns have their own seqs.
    arc.add_program(campaign.id, NewProgram(code="c = 3", island=0, status="ok", fitness=0.0))
    arc.add_program(campaign.id, NewProgram(code="d = 4", island=0, status="ok", fitness=0.0))
    other = arc.create_campaign("c2", "toy", {})
    arc.add_program(other.id, NewProgram(code="a = 1", island=0, status="ok", fitness=1.0, seq=0))
    assert arc.done_seqs(campaign.id) == {0} and arc.done_seqs(other.id) == {0}
    # The island's ok positions stayed dense despite the failed insert.
    picks = arc.sample_parents(campaign.id, 0, 3, "uniform", __import__("random").Random(0))
    assert sorted(p.code for p in picks) == ["a = 1", "c = 3", "d = 4"]


def test_invalid_arguments(arc, campaign):
    with pytest.raises(ValueError, match="status"):
        arc.add_program(campaign.id, NewProgram(code="x", island=0, status="great"))
    with pytest.raises(ValueError, match="needs a fitness"):
        arc.add_program(campaign.id, NewProgram(code="x", island=0, status="ok"))
    with pytest.raises(ValueError, match="no campaign"):
        arc.add_program(12345, NewProgram(code="x", island=0, status="error"))
    with pytest.raises(ValueError, match="order"):
        arc.programs(campaign.id, order="random")
    assert arc.get_program(424242) is None


def test_parents_children_counts_and_dedup(arc, campaign):
    seed = arc.add_program(
        campaign.id, NewProgram(code="def f(x):\n    return x  # seed\n", island=0, status="ok", fitness=1.0)
    )
    a = arc.add_program(
        campaign.id, NewProgram(code="def f(x): return x+1", island=0, status="ok", fitness=2.0, parent_ids=[seed.id])
    )
    b = arc.add_program(
        campaign.id, NewProgram(code="def f(x): return x+2", island=0, status="error", parent_ids=[seed.id, a.id])
    )
    arc.add_program(
        campaign.id,
        NewProgram(code="def f(x): return x+3", island=0, status="ok", fitness=3.0, parent_ids=[a.id, a.id]),
    )
    assert arc.get_program(seed.id).n_children == 2
    assert arc.get_program(a.id).n_children == 2  # the self-crossover counts once
    assert arc.get_program(b.id).parent_ids == [seed.id, a.id]
    # Formatting and comments do not change the hash; the earliest evaluated program wins.
    h = code_hash("def f(x):\n\n    return (x)\n")
    assert h == seed.code_hash
    dup = arc.add_program(
        campaign.id, NewProgram(code="def f(x): return x", island=1, status="duplicate", duplicate_of=seed.id)
    )
    assert dup.code_hash == h and arc.find_by_hash(campaign.id, h).id == seed.id
    assert arc.find_by_hash(campaign.id, code_hash("nothing = 0")) is None
    other = arc.create_campaign("c2", "toy", {})
    assert arc.find_by_hash(other.id, h) is None
    rej = arc.add_program(
        other.id, NewProgram(code="def f(x): return x", island=0, status="rejected", reason="no diff")
    )
    none = arc.add_program(
        other.id, NewProgram(code="", island=0, status="rejected", reason="SEARCH block did not match")
    )
    assert arc.get_program(none.id).code == "" and arc.get_program(none.id).reason.startswith("SEARCH")
    assert arc.find_by_hash(other.id, rej.code_hash) is None  # rejected/duplicate never count as evaluated
    err = arc.add_program(other.id, NewProgram(code="def f(x):  return x", island=0, status="timeout"))
    assert arc.find_by_hash(other.id, h).id == err.id  # failures do: no need to run them twice
    given = arc.add_program(other.id, NewProgram(code="y = 2", island=0, status="error", code_hash=code_hash("y=2")))
    assert given.code_hash == arc.get_program(given.id).code_hash == code_hash("y = 2")


def test_counts_best_elites_and_listing(arc, campaign):
    rows = [
        (0, "ok", 1.0, 0),
        (0, "ok", 3.0, 4),
        (0, "ok", 3.0, 1),
        (1, "ok", 5.0, 0),
        (1, "error", None, 0),
        (0, "timeout", None, 0),
        (1, "duplicate", None, 0),
        (0, "ok", 2.0, 9),
    ]
    ids = [
        arc.add_program(
            campaign.id, NewProgram(code=f"v = {i}", island=isl, status=st, fitness=fit, born_at=born, seq=i)
        ).id
        for i, (isl, st, fit, born) in enumerate(rows)
    ]
    assert arc.count(campaign.id) == 8
    assert arc.count(campaign.id, "ok") == 5 and arc.count(campaign.id, ["error", "timeout"]) == 2
    assert arc.count(campaign.id, island=1) == 3 and arc.count(campaign.id, "ok", island=0) == 4
    assert arc.status_counts(campaign.id) == {"ok": 5, "error": 1, "timeout": 1, "duplicate": 1}
    assert arc.island_sizes(campaign.id) == {0: 4, 1: 1}
    assert [p.id for p in arc.best(campaign.id, k=3)] == [ids[3], ids[2], ids[1]]
    assert [p.id for p in arc.best(campaign.id, island=0)] == [ids[2]]  # tie 3.0: the older (born_at 1 < 4)
    assert [p.id for p in arc.elites(campaign.id, 0, 10)] == [ids[2], ids[1], ids[7], ids[0]]
    assert [p.id for p in arc.elites(campaign.id, 0, 10, max_born_at=1)] == [ids[2], ids[0]]
    assert arc.best(arc.create_campaign("empty", "toy", {}).id) == []
    assert [p.id for p in arc.programs(campaign.id)] == ids
    assert [p.id for p in arc.programs(campaign.id, order="-id", limit=2)] == [ids[7], ids[6]]
    assert [p.id for p in arc.programs(campaign.id, status="ok", island=0, order="fitness")] == [
        ids[2],
        ids[1],
        ids[7],
        ids[0],
    ]
    assert [p.id for p in arc.programs(campaign.id, status=["error", "duplicate"])] == [ids[4], ids[6]]
    assert [p.id for p in arc.programs(campaign.id, after_id=ids[5], order="seq")] == ids[6:]
    assert arc.done_seqs(campaign.id) == set(range(8))
    assert [p.id for p in arc.get_programs([ids[3], 999999, ids[0]])] == [ids[3], ids[0]]


def test_island_state_and_events(arc, campaign):
    assert arc.get_island_state(campaign.id, 0) == {}
    arc.set_island_state(campaign.id, 0, {"reflection": "use sorting", "temperature": 0.5})
    arc.set_island_state(campaign.id, 2, {"reset_at": 10})
    arc.set_island_state(campaign.id, 0, {"reflection": "use heaps"})
    assert arc.get_island_state(campaign.id, 0) == {"reflection": "use heaps"}
    assert arc.island_states(campaign.id) == {0: {"reflection": "use heaps"}, 2: {"reset_at": 10}}
    # Island state survives programs being added (which bump the island's counter).
    arc.add_program(campaign.id, NewProgram(code="x = 1", island=0, status="ok", fitness=1.0))
    assert arc.get_island_state(campaign.id, 0) == {"reflection": "use heaps"}
    e1 = arc.log_event(campaign.id, "start", {"budget": 10})
    arc.log_event(campaign.id, "migration", {"from": 0, "to": 1, "ids": [1, 2]})
    arc.log_event(campaign.id, "start")
    evs = arc.events(campaign.id)
    assert [e.kind for e in evs] == ["start", "migration", "start"] and evs[0].id == e1
    assert evs[1].data == {"from": 0, "to": 1, "ids": [1, 2]} and evs[2].data == {}
    assert [e.id for e in arc.events(campaign.id, kind="start")] == [evs[0].id, evs[2].id]


def test_bulk_insert_matches_one_by_one(arc, campaign):
    seed = arc.add_program(campaign.id, NewProgram(code="s = 0", island=0, status="ok", fitness=0.0))
    rows = [
        NewProgram(
            code=f"v = {i}",
            island=i % 2,
            status="ok" if i % 3 else "error",
            fitness=float(i) if i % 3 else None,
            parent_ids=[seed.id],
            seq=i,
        )
        for i in range(10)
    ]
    assert arc.add_programs_bulk(campaign.id, rows, chunk=4) == 10
    assert arc.count(campaign.id) == 11 and arc.get_program(seed.id).n_children == 10
    assert len(arc.children(seed.id)) == 10
    # Every ok program of island 1 is reachable by uniform sampling (positions dense).
    ok1 = {p.id for p in arc.programs(campaign.id, status="ok", island=1)}
    assert {p.id for p in arc.sample_parents(campaign.id, 1, 100, "uniform", __import__("random").Random(1))} == ok1
    with pytest.raises(SeqConflict):
        arc.add_program(campaign.id, NewProgram(code="again", island=0, status="error", seq=3))


def test_secrets_have_no_column(arc):
    from evolve.archive.models import Base

    cols = {c.name.lower() for t in Base.metadata.tables.values() for c in t.columns}
    assert not {c for c in cols if "key" in c or "secret" in c or "password" in c}


def test_data_survives_reopen(archive_url):
    with Archive(archive_url) as a:
        c = a.create_campaign("persist", "toy", {"x": 1})
        a.add_program(c.id, NewProgram(code="x = 1", island=0, status="ok", fitness=1.0, seq=0))
    with Archive(archive_url) as b:
        c2 = b.get_campaign("persist")
        assert c2.config == {"x": 1} and b.done_seqs(c2.id) == {0}
