"""FunSearch clusters kept incrementally per island."""

from __future__ import annotations

import random

from evolve.archive.new_program import NewProgram
from evolve.archive.policies.clusters import IslandClusters


def _program(i: int, rng: random.Random):
    cases = (rng.randrange(4), rng.randrange(3))
    return dict(
        pid=i + 1,
        fitness=float(sum(cases)),
        metrics={"case:0": float(cases[0]), "case:1": float(cases[1])},
        length=rng.randrange(10, 200),
        born=i,
    )


def test_clusters_group_by_signature_and_rank_by_best_member():
    rng = random.Random(0)
    cl = IslandClusters()
    programs = [_program(i, rng) for i in range(500)]
    for p in programs:
        cl.append(**p)
    assert len(cl) == 500 and cl.n_clusters == 12
    scores, clusters = cl.candidates(pool=5, max_born_at=None)
    assert scores.tolist() == sorted(scores, reverse=True) and scores[0] == 5.0 and len(clusters) == 5
    assert {int(clusters[0].ids[i]) for i in clusters[0].visible(None)} == {
        p["pid"] for p in programs if p["fitness"] == 5.0
    }
    # hiding programs: a cluster's score is its best visible member, empty clusters drop out
    scores, clusters = cl.candidates(pool=50, max_born_at=20)
    visible = [p for p in programs if p["born"] <= 20]
    assert sum(len(c.visible(20)) for c in clusters) == len(visible)
    assert scores[0] == max(p["fitness"] for p in visible)
    assert len(clusters) == len({(p["metrics"]["case:0"], p["metrics"]["case:1"]) for p in visible})


def test_incremental_equals_built_at_once_and_draws_replay():
    rng = random.Random(1)
    programs = [_program(i, rng) for i in range(800)]
    whole, pieces = IslandClusters(), IslandClusters()
    for p in programs:
        whole.append(**p)
    for i, p in enumerate(programs):
        pieces.append(**p)
        if i % 97 == 0:
            pieces.choose(2, random.Random(i), None, 2048, 0.1)  # sampling in between changes nothing
    for seed in range(20):
        a = whole.choose(3, random.Random(seed), 700, 2048, 0.05)
        b = pieces.choose(3, random.Random(seed), 700, 2048, 0.05)
        assert a == b and len(set(a)) == 3
        assert all(programs[pid - 1]["born"] <= 700 for pid in a)


def test_sampling_keeps_one_structure_per_island(arc, campaign):
    for i in range(30):
        arc.add_program(
            campaign.id,
            NewProgram(code="x" * (i + 1), island=i % 2, status="ok", fitness=float(i % 3), metrics={"case:0": i % 3}),
        )
    first = arc.sample_parents(campaign.id, 0, 2, "funsearch", random.Random(0))
    state = next(v for key, v in arc._policy_states.items() if key[:3] == ("funsearch", campaign.id, 0))
    assert len(state) == 15 and state.n_clusters == 3
    arc.add_program(campaign.id, NewProgram(code="new", island=0, status="ok", fitness=9.0, metrics={"case:0": 9}))
    picks = [arc.sample_parents(campaign.id, 0, 1, "funsearch", random.Random(s))[0] for s in range(10)]
    assert len(state) == 16 and state.n_clusters == 4  # topped up, not rebuilt
    assert sum(p.code == "new" for p in picks) >= 9  # the new best cluster dominates at T = 0.1
    assert len(first) == 2
