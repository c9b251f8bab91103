"""Ring migration and FunSearch reset inside a real campaign."""

import evolve


def _campaign(tmp_path, quadratic, name, **kw):
    c = evolve.create_campaign(
        quadratic,
        storage=f"sqlite:///{tmp_path}/{name}.db",
        name=name,
        islands=3,
        workers=2,
        generation_size=2,
        sandbox="process",
        **kw,
    )
    c.run()
    return c


def test_migration_copies_the_previous_islands_best(tmp_path, quadratic):
    c = _campaign(tmp_path, quadratic, "m", budget=24, migration_interval=1, seed=5)
    migrants = [p for p in c.archive.programs(c.info.id) if p.operator == "migration"]
    assert migrants, "no migration happened"
    for m in migrants:
        source = c.archive.get_program(m.parent_ids[0])
        assert source.island == (m.island - 1) % 3
        assert source.code == m.code and source.objective == m.objective
        assert m.born_at < 10**9 and m.eval_time is None  # a copy, not a new evaluation
    events = c.archive.events(c.info.id, kind="islands")
    assert {e.data["island"] for e in events} == {0, 1, 2}


def test_reset_restarts_weak_islands_from_a_strong_one_deterministically(tmp_path, quadratic):
    a = _campaign(tmp_path, quadratic, "a", budget=30, migration_interval=0, reset_interval=1, seed=11)
    b = _campaign(tmp_path, quadratic, "b", budget=30, migration_interval=0, reset_interval=1, seed=11)
    resets = [p for p in a.archive.programs(a.info.id) if p.operator == "reset"]
    assert resets
    for r in resets:
        assert a.archive.get_island_state(a.info.id, r.island)["floor"] >= r.born_at
        founder = a.archive.get_program(r.parent_ids[0])
        assert founder.island != r.island

    def trace(c):
        return [
            (p.seq, p.island, p.code, p.objective)
            for p in c.archive.programs(c.info.id, order="seq")
            if p.seq is not None
        ]

    assert trace(a) == trace(b)
