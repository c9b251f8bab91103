"""Late publication: stored at once, sampleable (and counted as a child) only when published."""

import random

from evolve.archive.new_program import NewProgram


def test_unpublished_programs_are_stored_but_not_sampled(arc, campaign):
    seed = arc.add_program(campaign.id, NewProgram(code="v = 0", island=0, status="ok", fitness=0.0, born_at=-1))
    late = [
        arc.add_program(
            campaign.id,
            NewProgram(
                code=f"v = {i}",
                island=0,
                status="ok",
                fitness=float(i),
                born_at=i,
                seq=i,
                parent_ids=[seed.id],
                publish=False,
            ),
        )
        for i in (2, 1)
    ]
    failed = arc.add_program(
        campaign.id,
        NewProgram(code="v = x", island=0, status="error", born_at=3, seq=3, parent_ids=[seed.id], publish=False),
    )
    assert arc.count(campaign.id) == 4 and arc.done_seqs(campaign.id) == {1, 2, 3}  # durable
    assert arc.get_program(seed.id).n_children == 0
    assert arc.island_sizes(campaign.id)[0] == 1
    for _ in range(5):
        picks = arc.sample_parents(campaign.id, 0, 3, "uniform", random.Random(1))
        assert [p.id for p in picks] == [seed.id]
    assert [p.id for p in arc.unpublished(campaign.id)] == [late[1].id, late[0].id]  # by born_at

    arc.publish([late[1], late[0], failed])
    assert arc.unpublished(campaign.id) == []
    assert arc.get_program(seed.id).n_children == 3
    assert arc.island_sizes(campaign.id)[0] == 3
    picks = arc.sample_parents(campaign.id, 0, 3, "uniform", random.Random(1))
    assert {p.id for p in picks} == {seed.id, late[0].id, late[1].id}


def test_publication_order_fixes_the_draws(arc, campaign):
    """Two archives that stored the same programs in different orders but published them
    in the same order give the same draws."""
    other = arc.create_campaign("c2", "toy", {})
    for cid, order in ((campaign.id, (0, 1, 2, 3)), (other.id, (3, 1, 0, 2))):
        rows = {
            i: arc.add_program(
                cid,
                NewProgram(code=f"v = {i}", island=0, status="ok", fitness=float(i), born_at=i, seq=i, publish=False),
            )
            for i in order
        }
        arc.publish([rows[i] for i in range(4)])
    draws = [
        [p.code for p in arc.sample_parents(cid, 0, 2, "uniform", random.Random(7))] for cid in (campaign.id, other.id)
    ]
    assert draws[0] == draws[1]
