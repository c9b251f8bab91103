"""MAP-Elites grids, descriptors, novelty and FunSearch clusters."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from evolve.archive.new_program import NewProgram
from evolve.archive.policies import (
    Dimension,
    Grid,
    MapElites,
    ast_shape_hash,
    ast_signature,
    builtin_descriptors,
    code_length,
    knn_novelty,
    novelty_of,
    temperature,
)
from evolve.archive.policies.clusters import case_signature, softmax


def test_builtin_descriptors():
    code = (
        "def f(xs):\n    total = 0  # sum\n    for x in xs:\n        if x > 0:\n            total += g(x)\n"
        "    return [y for y in xs]\n"
    )
    sig = ast_signature(code)
    assert (sig["loops"], sig["branches"], sig["calls"], sig["comprehensions"], sig["functions"]) == (1, 1, 1, 1, 1)
    assert sig["ast_depth"] >= 5 and sig["ast_nodes"] > 20
    assert code_length(code) == code_length(code.replace("  # sum", "")) < len(code)
    assert ast_signature("def (:") == dict.fromkeys(sig, 0.0)
    assert ast_shape_hash("a = b + 1") == ast_shape_hash("zz = q + 7") != ast_shape_hash("a = b * 1 + 2")
    assert set(builtin_descriptors(code)) == {"code_length", *sig}


def test_fixed_grid_cells():
    g = Grid.fixed([Dimension("len", 0, 100, 10), ("loops", 0, 4, 4)])
    assert g.n_cells == 40
    assert g.cell({"len": 0, "loops": 0}) == "0,0"
    assert g.cell({"len": 55, "loops": 3.99}) == "5,3"
    assert g.cell({"len": 1e9, "loops": -5}) == "9,0"  # outside the box: edge cells
    with pytest.raises(ValueError, match="lacks loops"):
        g.cell({"len": 3})
    with pytest.raises(ValueError, match="hi > lo"):
        Grid.fixed([("x", 1, 1, 3)])


def test_cvt_grid_is_deterministic_and_covers_the_box():
    a = Grid.cvt(["x", "y"], [0, 0], [10, 1], n_cells=16, samples=4000, seed=3)
    b = Grid.cvt(["x", "y"], [0, 0], [10, 1], n_cells=16, samples=4000, seed=3)
    assert np.allclose(a.centroids, b.centroids) and a.n_cells == 16
    rng = np.random.default_rng(0)
    cells = Counter(a.cell({"x": 10 * rng.random(), "y": rng.random()}) for _ in range(3000))
    assert len(cells) == 16 and min(cells.values()) > 3000 / 16 / 3  # roughly equal areas
    assert a.cell({"x": 0.1, "y": 0.05}) == a.cell({"x": -50, "y": -1})  # clipped into the box


def test_map_elites_cells(arc, campaign):
    grid = Grid.fixed([("size", 0, 10, 2)])
    me = MapElites(arc.campaign_store(campaign.id), grid, descriptor=lambda p: p.descriptor)
    add = lambda size, fit, island=0, status="ok", born=0: arc.add_program(
        campaign.id,
        NewProgram(
            code=f"v = {size}, {fit}, {island}",
            island=island,
            status=status,
            born_at=born,
            fitness=None if status != "ok" else fit,
            descriptor={"size": size},
        ),
    )
    a = add(1, 1.0)
    assert me.offer(a)
    assert not me.offer(add(2, 0.5))  # same cell, worse
    assert not me.offer(add(3, 1.0))  # tie keeps the incumbent
    b = add(4, 2.0)
    assert me.offer(b)  # better replaces
    c = add(7, -1.0, born=9)
    assert me.offer(c)  # empty cell takes anything
    assert not me.offer(add(8, 5.0, status="error"))
    d = add(1, 0.0, island=1)
    assert me.offer(d)  # islands have their own grids
    el = me.elites()
    assert {k: p.id for k, p in el.items()} == {(0, "0"): b.id, (0, "1"): c.id, (1, "0"): d.id}
    assert {p.id for p in me.sample(0, 5, random.Random(0))} == {b.id, c.id}
    assert [p.id for p in me.sample(0, 5, random.Random(0), max_born_at=1)] == [b.id]
    assert me.sample(0, 1, random.Random(4)) == me.sample(0, 1, random.Random(4))
    st = me.stats(island=0)
    assert (st["filled"], st["coverage"], st["qd_score"], st["best"]) == (2, 1.0, 1.0, 2.0)
    assert me.stats()["filled"] == 3
    other = MapElites(arc.campaign_store(campaign.id), grid, name="other", descriptor=lambda p: p.descriptor)
    assert other.stats()["filled"] == 0
    assert other.rebuild() == 3 and {k: p.id for k, p in other.elites().items()} == {k: p.id for k, p in el.items()}


def test_map_elites_default_descriptors(arc, campaign):
    me = MapElites(arc.campaign_store(campaign.id), Grid.fixed([("code_length", 0, 200, 4), ("loops", 0, 2, 2)]))
    short = arc.add_program(campaign.id, NewProgram(code="x = 1", island=0, status="ok", fitness=1.0))
    loopy = arc.add_program(
        campaign.id, NewProgram(code="for i in range(3):\n    x = i\n", island=0, status="ok", fitness=0.0)
    )
    assert me.offer(short) and me.offer(loopy)
    assert sorted(cell for _, cell in me.elites()) == ["0,0", "0,1"]


def test_knn_novelty():
    pts = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0]])
    nov = knn_novelty(pts, k=2)
    assert int(np.argmax(nov)) == 3 and nov[3] > 5 * nov[0]
    assert knn_novelty(pts[:1]).tolist() == [0.0]
    # Dimensions are scaled by their spread: a large-unit axis does not dominate.
    scaled = pts * np.array([1000.0, 1.0])
    assert np.allclose(knn_novelty(scaled, k=2), nov)
    others = [{"a": 0.0}, {"a": 1.0}, {"a": 2.0}]
    assert novelty_of({"a": 10.0}, others, k=1) > novelty_of({"a": 1.0}, others, k=1) == 0.0
    assert novelty_of({"a": 1.0}, []) == 0.0


def test_novelty_strategy_prefers_the_odd_one(arc, campaign):
    ids = [
        arc.add_program(
            campaign.id,
            NewProgram(code=f"v = {i}", island=0, status="ok", fitness=float(i), descriptor={"d": 0.0, "e": 1.0}),
        ).id
        for i in range(5)
    ]
    odd = arc.add_program(
        campaign.id, NewProgram(code="odd = 1", island=0, status="ok", fitness=0.5, descriptor={"d": 9.0, "e": 1.0})
    ).id
    rng = random.Random(0)
    one_nn = {"k_nn": 1}
    freqs = Counter(arc.sample_parents(campaign.id, 0, 1, "novelty", rng, options=one_nn)[0].id for _ in range(200))
    assert freqs[odd] == 200  # with one neighbour, identical descriptors have zero novelty
    two = arc.sample_parents(campaign.id, 0, 2, "novelty", random.Random(1), options=one_nn)
    assert two[0].id == odd and two[1].id in ids  # then weights are all zero: uniform
    from evolve.archive.policies import Novelty

    nov = Novelty(arc, k=1)
    assert nov.score(campaign.id, 0, {"d": 0.0, "e": 1.0}) == 0.0
    assert nov.score(campaign.id, 0, {"d": 20.0, "e": 1.0}) > nov.score(campaign.id, 0, {"d": 5.0, "e": 1.0}) > 0
    # Default k_nn=10 (5 here): the twins score D/5 each, the odd one D -> P(odd) = 1/2.
    freqs = Counter(arc.sample_parents(campaign.id, 0, 1, "novelty", rng)[0].id for _ in range(400))
    assert abs(freqs[odd] - 200) <= 45


def test_funsearch_clusters(arc, campaign):
    def add(cases, code):
        return arc.add_program(
            campaign.id,
            NewProgram(
                code=code,
                island=0,
                status="ok",
                fitness=sum(cases) / len(cases),
                metrics={f"case:{i}": v for i, v in enumerate(cases)} | {"score": sum(cases)},
            ),
        ).id

    a_short = add([1.0, 0.0], "a = 1")
    a_long = add([1.0, 0.0], "a = 1  # identical behaviour but longer code " + "x" * 40)
    b = add([0.0, 1.0], "b = 2")  # same fitness as the a-cluster, other behaviour
    c = add([0.0, 0.0], "c = 3")  # worse
    assert case_signature({"case:1": 2.0, "case:0": 1.0, "other": 5}, 0.0) == (1.0, 2.0)
    assert case_signature({"score": 1.0}, 0.25) == ("fitness", 0.25)
    n = 4
    t = temperature(n, 0.1, 30_000)
    p_cluster = softmax([0.5, 0.5, 0.0], t)  # clusters in fitness order: a, b, c
    within = softmax(
        [
            0.0,
            -(len("a = 1  # identical behaviour but longer code ") + 40 - 5)
            / (len("a = 1  # identical behaviour but longer code ") + 40 + 1e-6),
        ],
        1.0,
    )
    rng = random.Random(0)
    freqs = Counter(arc.sample_parents(campaign.id, 0, 1, "funsearch", rng)[0].id for _ in range(1500))
    expected = {a_short: p_cluster[0] * within[0], a_long: p_cluster[0] * within[1], b: p_cluster[1], c: p_cluster[2]}
    for pid, p in expected.items():
        assert abs(freqs[pid] - 1500 * p) <= 4.5 * math.sqrt(1500 * p * (1 - p)) + 1, (pid, freqs[pid], p)
    assert freqs[a_short] > freqs[a_long]
    # k distinct: one per cluster first, then the clusters' remaining members.
    picks = arc.sample_parents(campaign.id, 0, 4, "funsearch", random.Random(2))
    assert sorted(p.id for p in picks) == sorted([a_short, a_long, b, c])
    assert {p.id for p in picks[:3]} & {a_short, a_long} and {b, c} <= {p.id for p in picks[:3]}
    # A custom signature: everything in one cluster -> shortest code preferred.
    one = arc.sample_parents(
        campaign.id, 0, 1, "funsearch", random.Random(3), options={"signature": lambda metrics, fitness: ("all",)}
    )
    assert len(one) == 1
    assert temperature(0) == 0.1 and temperature(15_000) == pytest.approx(0.05) and temperature(30_000) == 0.1
