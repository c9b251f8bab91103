"""The engine end to end: a real campaign through the real sandbox and SQLite archive."""

import json

import pytest

import evolve
from evolve.constants import EVALUATED_STATUSES as EVALUATED


def run_quadratic(tmp_path, name="q", **settings):
    settings.setdefault("budget", 24)
    settings.setdefault("islands", 2)
    settings.setdefault("workers", 2)
    settings.setdefault("sandbox", "process")
    c = evolve.create_campaign(
        settings.pop("problem"), storage=f"sqlite:///{tmp_path}/{name}.db", name=name, **settings
    )
    c.run()
    return c


def test_campaign_improves_stores_and_exports(tmp_path, quadratic):
    c = run_quadratic(tmp_path, problem=quadratic)
    cid = c.info.id
    assert c.archive.count(cid, statuses=EVALUATED) - 2 == 24  # 24 children + seed on 2 islands
    seed_value = -((0.5 - 3) ** 2) + 10
    best = c.best()
    assert best.objective > seed_value
    # lineage reaches the seed
    chain = c.archive.lineage(best.id)
    assert chain[0].operator == "seed" and chain[-1].id == best.id
    # export writes a runnable program that reproduces its stored score
    paths = c.export(str(tmp_path / "out"), top=2)
    assert paths
    meta = json.loads(paths[0].with_suffix(".json").read_text())
    assert meta["objective"]["value"] == pytest.approx(best.objective)
    ns = {}
    exec(paths[0].read_text(), ns)
    x = ns["solve"]()
    assert -((x - 3) ** 2) + 10 == pytest.approx(meta["objective"]["value"])


def test_same_seed_same_campaign(tmp_path, quadratic):
    a = run_quadratic(tmp_path, name="a", problem=quadratic, seed=7)
    b = run_quadratic(tmp_path, name="b", problem=quadratic, seed=7)

    def trace(c):
        return [
            (p.seq, p.code, p.status, p.objective, p.parent_ids and len(p.parent_ids))
            for p in c.archive.programs(c.info.id, order="seq")
            if p.seq is not None
        ]

    assert trace(a) == trace(b)
    c = run_quadratic(tmp_path, name="c", problem=quadratic, seed=8)
    assert trace(c) != trace(a)


def test_resume_extends_budget_without_redoing(tmp_path, quadratic):
    c = run_quadratic(tmp_path, name="r", problem=quadratic, budget=10)
    first = {p.seq: p.id for p in c.archive.programs(c.info.id) if p.seq is not None}
    again = evolve.create_campaign(quadratic, storage=f"sqlite:///{tmp_path}/r.db", name="r", budget=20)
    again.run()
    rows = [p for p in again.archive.programs(again.info.id) if p.seq is not None]
    seqs = [p.seq for p in rows]
    assert len(seqs) == len(set(seqs))
    assert {p.seq: p.id for p in rows if p.seq in first} == first  # nothing redone
    assert again.status()["evaluations"] == 20


def test_resume_refuses_changed_settings(tmp_path, quadratic):
    run_quadratic(tmp_path, name="s", problem=quadratic, budget=2)
    with pytest.raises(evolve.ConfigError, match="islands"):
        evolve.create_campaign(quadratic, storage=f"sqlite:///{tmp_path}/s.db", name="s", islands=3)


def test_ask_tell(tmp_path, quadratic):
    c = evolve.create_campaign(
        quadratic, storage=f"sqlite:///{tmp_path}/at.db", name="at", islands=1, sandbox="process"
    )
    c.tell_seed({"value": 3.75})
    trial = c.ask()
    assert "def solve" in trial.code and trial.code != c.problem.initial_program
    rec = c.tell(trial, metrics={"value": 9.0})
    assert rec.objective == 9.0 and c.best().id == rec.id
    t2 = c.ask()
    assert t2.seq == trial.seq + 1
    c.tell(t2, status="error", reason="my evaluator crashed")
    assert c.archive.status_counts(c.info.id)["error"] == 1
