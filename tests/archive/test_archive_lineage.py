"""Lineage, ancestors, descendants and children over a small DAG."""

from __future__ import annotations

from evolve.archive.new_program import NewProgram


def test_lineage_and_dag(arc, campaign):
    add = lambda code, parents=(): (
        arc.add_program(campaign.id, NewProgram(code=code, island=0, status="ok", fitness=1.0, parent_ids=parents)).id
    )
    seed = add("s = 0")
    a = add("a = 1", [seed])
    b = add("b = 2", [seed])
    c = add("c = 3", [a, b])  # crossover: primary parent a
    d = add("d = 4", [b, c])  # primary parent b
    e = add("e = 5", [d])
    other = add("o = 6")
    assert [p.id for p in arc.lineage(e)] == [seed, b, d, e]
    assert [p.id for p in arc.lineage(c)] == [seed, a, c]
    assert [p.id for p in arc.lineage(seed)] == [seed]
    assert arc.lineage(999999) == []
    assert [p.id for p in arc.ancestors(e)] == [seed, a, b, c, d]
    assert arc.ancestors(seed) == [] and arc.ancestors(other) == []
    assert [p.id for p in arc.descendants(b)] == [c, d, e]
    assert [p.id for p in arc.descendants(seed)] == [a, b, c, d, e]
    assert [p.id for p in arc.children(seed)] == [a, b]
    assert [p.id for p in arc.children(b)] == [c, d]
    assert arc.children(e) == []
    assert arc.get_program(b).n_children == 2


def test_deep_lineage(arc, campaign):
    rows = []
    prev = arc.add_program(campaign.id, NewProgram(code="x = 0", island=0, status="ok", fitness=0.0)).id
    first = prev
    for i in range(1, 300):
        prev = arc.add_program(
            campaign.id,
            NewProgram(code=f"x = {i}", island=0, status="ok", fitness=float(i), parent_ids=[prev], generation=i),
        ).id
        rows.append(prev)
    line = arc.lineage(prev)
    assert len(line) == 300 and line[0].id == first and line[-1].id == prev
    assert [p.generation for p in line] == list(range(300))
