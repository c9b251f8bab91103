"""The vector index behind novelty and near-duplicates: recall, exactness, replayability."""

from __future__ import annotations

import random

import numpy as np
import pytest

from evolve.archive.new_program import NewProgram
from evolve.archive.policies import novelty_index
from evolve.archive.policies.novelty_index import IslandNovelty
from evolve.archive.policies.vectors import HAVE_FAISS, VectorIndex


def _clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Behaviour-like data: a few hundred blobs of different spreads."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (300, dim))
    which = rng.integers(0, 300, n)
    return (centres[which] + rng.normal(0, 1, (n, dim)) * rng.uniform(0.1, 2, (n, 1))).astype(np.float32)


def test_faiss_is_installed_for_the_tests():
    # The [index] extra is part of the test install; without it the index silently scans.
    assert HAVE_FAISS


@pytest.mark.parametrize("metric,dim", [("l2", 8), ("ip", 64)])
def test_recall_at_10_against_an_exact_scan_on_10k(metric, dim):
    x = _clustered(10_000, dim)
    if metric == "ip":
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    hnsw, exact = VectorIndex(dim, metric), VectorIndex(dim, metric, exact=True)
    assert not hnsw.exact and exact.exact
    for lo in range(0, len(x), 2500):
        hnsw.add(x[lo : lo + 2500])
        exact.add(x[lo : lo + 2500])
    q = x[np.random.default_rng(1).choice(len(x), 300, replace=False)] + 0.01
    _, got = hnsw.search(q, 10)
    _, want = exact.search(q, 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want)])
    assert recall >= 0.95, recall


def test_exact_scan_orders_and_pads():
    idx = VectorIndex(1, "l2", exact=True)
    idx.add(np.array([[0.0], [3.0], [1.0]]))
    d, labels = idx.search(np.array([[0.9]]), 5)
    assert labels[0].tolist() == [2, 0, 1, -1, -1]
    assert np.allclose(d[0][:3], [0.1, 0.9, 2.1]) and np.isinf(d[0][3:]).all()
    ip = VectorIndex(2, "ip", exact=True)
    ip.add(np.array([[1.0, 0.0], [0.0, 1.0]]))
    s, labels = ip.search(np.array([[0.6, 0.8]]), 2)
    assert labels[0].tolist() == [1, 0] and np.allclose(s[0], [0.8, 0.6])


def _rows(n: int, seed: int = 0):
    rng = random.Random(seed)
    x = _clustered(n, 3, seed)
    descs = [{"a": float(v[0]), "b": float(v[1]) * 100, "c": float(v[2])} for v in x]
    born = [i + rng.randrange(3) for i in range(n)]
    return list(range(1, n + 1)), born, descs


def test_island_novelty_equals_an_exact_scan_on_10k():
    ids, born, descs = _rows(10_000)
    fast, exact = IslandNovelty(), IslandNovelty(exact=True)
    fast.append(ids, born, descs)
    exact.append(ids[:8192], born[:8192], descs[:8192])  # exact scales over the same prefix...
    assert fast.indexed == 9984 and exact.indexed == 0
    exact._cols, exact._scale = fast._cols, fast._scale
    exact.append(ids[8192:], born[8192:], descs[8192:])
    exact._prepare_scan = lambda: None  # ...and keeps that scaling
    pool = ids[-256:] + ids[:100]
    got, want = fast.novelty(pool, 10), exact.novelty(pool, 10)
    assert np.allclose(got, want, rtol=0.02) or np.mean(np.isclose(got, want, rtol=1e-4)) >= 0.95
    # hiding the newest programs: neighbours come only from what is visible
    got, want = fast.novelty(pool, 10, max_born_at=9000), exact.novelty(pool, 10, max_born_at=9000)
    assert np.mean(np.isclose(got, want, rtol=1e-4)) >= 0.95
    assert fast.recall(10) >= 0.95 and exact.recall(10) == 1.0


def test_island_novelty_is_the_same_however_it_was_synced():
    ids, born, descs = _rows(3000, seed=2)
    whole = IslandNovelty()
    whole.append(ids, born, descs)
    pieces = IslandNovelty()
    rng = random.Random(5)
    i = 0
    while i < len(ids):
        j = min(len(ids), i + rng.randrange(1, 700))
        pieces.append(ids[i:j], born[i:j], descs[i:j])
        if rng.random() < 0.5:
            pieces.novelty(ids[max(0, j - 300) : j], 10)  # queries in between fill the cache
        i = j
    assert whole.indexed == pieces.indexed == 2816
    pool = ids[::7]
    assert np.array_equal(whole.novelty(pool, 10), pieces.novelty(pool, 10))
    assert whole.score({"a": 1.0, "b": 2.0, "c": 3.0}) == pieces.score({"a": 1.0, "b": 2.0, "c": 3.0})


def test_island_novelty_small_islands_scan_and_odd_rows(monkeypatch):
    monkeypatch.setattr(novelty_index, "MIN_INDEXED", 1 << 30)
    nov = IslandNovelty()
    nov.append([1, 2, 3, 4], [0, 0, 0, 0], [{"d": 0.0}, {"d": 0.1}, {"d": 0.0, "extra": 1.0}, {"d": 5.0}])
    out = nov.novelty([1, 4, 99], k=2)
    assert out[2] == 0.0 and out[1] > 5 * out[0]  # unknown id: 0; the outlier is the most novel
    assert nov.score({"d": 5.0}, k=1) == 0.0 and nov.score({"d": 20.0}, k=1) > nov.score({"d": 6.0}, k=1) > 0
    assert IslandNovelty().novelty([1], 3).tolist() == [0.0]
    assert IslandNovelty().score({"d": 1.0}) == 0.0


def test_novelty_sampling_resumes_with_the_same_choices(tmp_path):
    from evolve.archive import Archive

    url = f"sqlite:///{tmp_path / 'n.db'}"
    ids, born, descs = _rows(2000, seed=3)
    with Archive(url) as arc:
        cid = arc.create_campaign("n", "toy", {}).id
        arc.add_programs_bulk(
            cid,
            (
                NewProgram(code=f"x = {i}", island=0, status="ok", fitness=float(i % 97), born_at=b, descriptor=d)
                for i, b, d in zip(ids, born, descs)
            ),
        )
        first = [p.id for p in arc.sample_parents(cid, 0, 3, "novelty", random.Random(7), max_born_at=1900)]
        arc.add_program(
            cid, NewProgram(code="late", island=0, status="ok", fitness=1.0, born_at=5000, descriptor=descs[0])
        )
        again = [p.id for p in arc.sample_parents(cid, 0, 3, "novelty", random.Random(7), max_born_at=1900)]
    with Archive(url) as fresh:  # a new process: the index is rebuilt from the rows
        resumed = [p.id for p in fresh.sample_parents(cid, 0, 3, "novelty", random.Random(7), max_born_at=1900)]
    assert first == again == resumed and len(first) == 3
