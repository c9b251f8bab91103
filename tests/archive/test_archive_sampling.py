"""Each parent-sampling strategy pinned on small hand-made islands, on both backends."""

from __future__ import annotations

import math
import random
from collections import Counter
from math import comb

import pytest

from evolve.archive.new_program import NewProgram
from evolve.archive.sampling import Candidate, dgm_weights, linear_rank_weights
from evolve.errors import ConfigError

N = 1500  # draws for frequency checks; bands are ~4.5 standard deviations wide


def _island(arc, cid, fits, island=0, born=None, children=None):
    ids = []
    for i, f in enumerate(fits):
        ids.append(
            arc.add_program(
                cid,
                NewProgram(
                    code=f"v = {island}_{i}", island=island, status="ok", fitness=f, born_at=born[i] if born else 0
                ),
            ).id
        )
    for i, n in enumerate(children or []):
        for j in range(n):  # real children (status error) so n_children is maintained by the archive
            arc.add_program(cid, NewProgram(code=f"child {i} {j}", island=island, status="error", parent_ids=[ids[i]]))
    return ids


def _freqs(arc, cid, strategy, n=N, seed=0, **kw):
    rng = random.Random(seed)
    return Counter(arc.sample_parents(cid, 0, 1, strategy, rng, **kw)[0].id for _ in range(n))


def _close(count: int, p: float, n: int = N) -> bool:
    return abs(count - n * p) <= 4.5 * math.sqrt(n * p * (1 - p)) + 1


def test_uniform_is_uniform_distinct_and_pinned(arc, campaign):
    ids = _island(arc, campaign.id, [5.0, 1.0, 3.0, 2.0, 4.0])
    _island(arc, campaign.id, [100.0], island=1)  # other islands are never sampled
    r = random.Random(7)
    assert [p.id for p in arc.sample_parents(campaign.id, 0, 1, "uniform", random.Random(7))] == [ids[r.randrange(5)]]
    freqs = _freqs(arc, campaign.id, "uniform")
    assert set(freqs) == set(ids) and all(_close(freqs[i], 0.2) for i in ids)
    allp = arc.sample_parents(campaign.id, 0, 10, "uniform", random.Random(3))
    assert sorted(p.id for p in allp) == ids  # k larger than the island: every program once


def test_visibility_respects_born_at(arc, campaign):
    ids = _island(arc, campaign.id, [1.0, 2.0, 3.0, 4.0], born=[0, 0, 5, 9])
    for strategy in ("uniform", "tournament", "fitness_proportional", "dgm", "best"):
        got = {
            p.id
            for s in range(30)
            for p in arc.sample_parents(campaign.id, 0, 4, strategy, random.Random(s), max_born_at=4)
        }
        assert got == set(ids[:2]), strategy
        assert {p.id for p in arc.sample_parents(campaign.id, 0, 4, strategy, random.Random(0), max_born_at=5)} <= set(
            ids[:3]
        )
    assert arc.sample_parents(campaign.id, 0, 2, "uniform", random.Random(0), max_born_at=-1) == []


def test_uniform_falls_back_when_most_are_invisible(arc, campaign):
    rows = [
        NewProgram(code=f"v = {i}", island=0, status="ok", fitness=float(i), born_at=(0 if i in (17, 140) else 100))
        for i in range(200)
    ]
    arc.add_programs_bulk(campaign.id, rows)
    for s in range(5):
        got = arc.sample_parents(campaign.id, 0, 3, "uniform", random.Random(s), max_born_at=50)
        assert sorted(p.fitness for p in got) == [17.0, 140.0]


def test_tournament_never_returns_the_worst_and_has_exact_odds(arc, campaign):
    small = _island(arc, campaign.id, [2.0, 9.0, 4.0], island=0)
    for s in range(40):  # island smaller than the tournament: the best always wins
        picks = arc.sample_parents(campaign.id, 0, 2, "tournament", random.Random(s))
        assert [p.id for p in picks] == [small[1], small[2]]
    big_fits = [float(f) for f in (3, 7, 1, 9, 5, 2, 8, 6, 4, 10)]
    big = _island(arc, campaign.id, big_fits, island=1)
    rng = random.Random(11)
    wins = Counter(
        arc.sample_parents(campaign.id, 1, 1, "tournament", rng, options={"size": 3})[0].id for _ in range(N)
    )
    order = sorted(range(10), key=lambda i: -big_fits[i])  # rank r = order[r]
    worst = order[-1]
    assert wins[big[worst]] == 0 and wins[big[order[-2]]] == 0  # size 3: the two worst never win
    for r, i in enumerate(order):  # P(rank r wins) = C(n-1-r, t-1) / C(n, t)
        assert _close(wins[big[i]], comb(10 - 1 - r, 2) / comb(10, 3)), (r, wins[big[i]])


def test_tournament_is_pinned_to_the_rng(arc, campaign):
    ids = _island(arc, campaign.id, [float(f) for f in (3, 7, 1, 9, 5, 2)])
    r = random.Random(5)
    drawn = []
    while len(drawn) < 2:  # contestants: distinct uniform positions (= insertion order)
        pos = r.randrange(6)
        if pos not in drawn:
            drawn.append(pos)
    expected = ids[max(drawn, key=lambda i: [3, 7, 1, 9, 5, 2][i])]
    got = arc.sample_parents(campaign.id, 0, 1, "tournament", random.Random(5), options={"size": 2})
    assert [p.id for p in got] == [expected]


def test_fitness_proportional_linear_ranking(arc, campaign):
    fits = [1.0, 4.0, 2.0, 4.0, 3.0]
    ids = _island(arc, campaign.id, fits)
    freqs = _freqs(arc, campaign.id, "fitness_proportional", options={"pressure": 2.0})
    # Sorted best first: 4 (id1), 4 (id3), 3, 2, 1 -> raw weights 2, 1.5, 1, .5, 0; the tie shares 1.75.
    expected = {ids[1]: 1.75 / 5, ids[3]: 1.75 / 5, ids[4]: 1 / 5, ids[2]: 0.5 / 5, ids[0]: 0.0}
    assert freqs[ids[0]] == 0
    for i, p in expected.items():
        assert _close(freqs[i], p), (i, freqs[i], p)
    # Scale and shift of the objective do not matter, only the order.
    assert linear_rank_weights([1000.0, -5.0, -1e9], 1.5) == linear_rank_weights([3.0, 2.0, 1.0], 1.5)
    top2 = {
        p.id
        for s in range(30)
        for p in arc.sample_parents(campaign.id, 0, 1, "fitness_proportional", random.Random(s), options={"pool": 2})
    }
    assert top2 == {ids[1], ids[3]}
    two = arc.sample_parents(campaign.id, 0, 5, "fitness_proportional", random.Random(1))
    assert sorted(p.id for p in two) == sorted(ids)  # without replacement


def test_dgm_prefers_fit_childless_programs(arc, campaign):
    fits = [0.9, 0.9, 0.5, 0.1]
    kids = [0, 3, 0, 0]
    ids = _island(arc, campaign.id, fits, children=kids)
    opts = {"top_m": 2, "lam": 10.0, "scale": 1.0}
    # By hand: midpoint = median(0.9, 0.9) = 0.9; weight = sigmoid(10 (f - 0.9)) / (1 + children).
    raw = [1 / (1 + math.exp(-10 * (f - 0.9))) / (1 + k) for f, k in zip(fits, kids)]
    probs = [w / sum(raw) for w in raw]
    freqs = _freqs(arc, campaign.id, "dgm", options=opts)
    for i, p in zip(ids, probs):
        assert _close(freqs[i], p), (i, freqs[i], p)
    assert freqs[ids[0]] > 3 * freqs[ids[1]] > 0  # same fitness, the childless one is preferred
    assert freqs[ids[0]] > freqs[ids[2]] > freqs[ids[3]]
    # Default scale is the pool's fitness range, so the objective's units do not matter.
    pool = [Candidate(i, f, k, 0, i) for i, (f, k) in enumerate(zip(fits, kids))]
    scaled = [Candidate(i, 100 * f - 7, k, 0, i) for i, (f, k) in enumerate(zip(fits, kids))]
    assert dgm_weights(pool, 2, 10.0, None) == pytest.approx(dgm_weights(scaled, 2, 10.0, None))


def test_best_ignores_the_rng(arc, campaign):
    ids = _island(arc, campaign.id, [1.0, 3.0, 3.0, 2.0])
    for s in range(5):
        assert [p.id for p in arc.sample_parents(campaign.id, 0, 3, "best", random.Random(s))] == [
            ids[1],
            ids[2],
            ids[3],
        ]


@pytest.mark.parametrize("strategy", ["uniform", "tournament", "fitness_proportional", "dgm", "best"])
def test_deterministic_distinct_and_bounded(arc, campaign, strategy):
    ids = _island(arc, campaign.id, [float((i * 7) % 11) for i in range(11)], children=[i % 3 for i in range(11)])
    a = [p.id for p in arc.sample_parents(campaign.id, 0, 4, strategy, random.Random(42))]
    b = [p.id for p in arc.sample_parents(campaign.id, 0, 4, strategy, random.Random(42))]
    assert a == b and len(set(a)) == 4 and set(a) <= set(ids)
    rng = random.Random(9)
    arc.sample_parents(campaign.id, 0, 2, strategy, rng)
    state = rng.getstate()
    c = arc.sample_parents(campaign.id, 0, 2, strategy, rng)
    rng.setstate(state)
    assert [p.id for p in arc.sample_parents(campaign.id, 0, 2, strategy, rng)] == [p.id for p in c]
    assert len(arc.sample_parents(campaign.id, 0, 50, strategy, random.Random(1))) == 11
    assert arc.sample_parents(campaign.id, 5, 3, strategy, random.Random(1)) == []  # empty island
    assert arc.sample_parents(campaign.id, 0, 0, strategy, random.Random(1)) == []


def test_bad_strategy_or_option(arc, campaign):
    with pytest.raises(ConfigError, match="unknown selection policy 'roulette'; choose one of tournament"):
        arc.sample_parents(campaign.id, 0, 1, "roulette", random.Random(0))
    with pytest.raises(ConfigError, match="tournament_size: Extra inputs are not permitted"):
        arc.sample_parents(campaign.id, 0, 1, "tournament", random.Random(0), options={"tournament_size": 3})
    _island(arc, campaign.id, [1.0, 2.0])
    with pytest.raises(ConfigError, match="pressure"):
        arc.sample_parents(campaign.id, 0, 1, "fitness_proportional", random.Random(0), options={"pressure": 3})
