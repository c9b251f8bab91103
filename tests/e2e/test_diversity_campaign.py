"""Quality-diversity policies inside real campaigns: MAP-Elites, novelty, near-duplicates."""

import re

import pytest

import evolve
from evolve.archive.policies.map_elites import GridConfig, MapElites, make_grid
from tests.e2e.conftest import QUADRATIC
from tests.needs import need_module

GRID = {"dims": [("code_length", 30.0, 130.0, 10)]}


def _run(tmp_path, name, **kw):
    c = evolve.create_campaign(
        QUADRATIC, storage=f"sqlite:///{tmp_path}/{name}.db", name=name, islands=2, workers=2, sandbox="process", **kw
    )
    c.run()
    return c


def test_map_elites_campaign_fills_cells_deterministically(tmp_path):
    a = _run(tmp_path, "a", budget=30, seed=9, selection="map_elites", map_elites=GRID)
    b = _run(tmp_path, "b", budget=30, seed=9, selection="map_elites", map_elites=GRID)
    grid = MapElites(a.store, make_grid(GridConfig(**GRID)))
    stats = grid.stats()
    assert stats["filled"] >= 2 and stats["best"] is not None
    offered_until = max(p.seq for p in a.archive.programs(a.info.id) if p.seq is not None) - a.config.window
    for (island, cell), elite in grid.elites().items():
        rivals = [
            p.fitness
            for p in a.archive.programs(a.info.id, status="ok", island=island)
            if grid.cell_of(p) == cell and p.born_at <= offered_until
        ]
        assert elite.fitness == max(rivals + [elite.fitness])

    def trace(c):
        return [(p.seq, p.code, p.objective) for p in c.archive.programs(c.info.id, order="seq") if p.seq is not None]

    assert trace(a) == trace(b)


def test_novelty_selection_runs(tmp_path):
    c = _run(tmp_path, "n", budget=12, seed=1, selection="novelty")
    assert c.status()["evaluations"] == 12


@pytest.mark.slow
def test_near_duplicates_by_embedding_are_not_evaluated(tmp_path, monkeypatch):
    need_module("sentence_transformers", extra="embeddings")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    c = _run(tmp_path, "d", budget=6, seed=2, near_duplicate_threshold=0.8, max_proposals=40)
    dups = [p for p in c.archive.programs(c.info.id) if p.status == "duplicate"]
    assert dups, "children of a one-line program embed alike and should be caught at 0.8"
    for d in dups:
        assert d.duplicate_of is not None and d.eval_time is None
    # The reason says what happened: identical code, or only similar (and how similar).
    codes = {p.id: p.code_hash for p in c.archive.programs(c.info.id)}
    near = [d for d in dups if codes[d.duplicate_of] != d.code_hash]
    assert near, "some children are only similar, not identical"
    for d in near:
        m = re.fullmatch(r"near-duplicate \(similarity (0\.\d{4}|1\.0000)\) of program (\d+)", d.reason or "")
        assert m and int(m.group(2)) == d.duplicate_of and float(m.group(1)) >= 0.8, d.reason
    for d in dups:
        if codes[d.duplicate_of] == d.code_hash:
            assert d.reason == "identical to an archived program"
