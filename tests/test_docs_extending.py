"""docs/extending.md, run verbatim: its selection policy, operator and sandbox backend are
registered from Python and a real campaign runs with all three."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evolve.archive.selection import SELECTION_POLICIES
from evolve.operators.registry import OPERATORS
from evolve.sandbox.registry import SANDBOXES

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
PLUGINS = ((SELECTION_POLICIES, "youngest_elite"), (OPERATORS, "nudge"), (SANDBOXES, "capped"))


def code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


@pytest.fixture
def forget_plugins():
    yield
    for registry, name in PLUGINS:
        registry.remove(name)


def test_each_plugin_example_fits_in_30_lines():
    blocks = code_blocks()
    assert len(blocks) == 4  # policy, operator, backend, the campaign using them
    for block in blocks[:3]:
        assert len(block.strip().splitlines()) <= 30, block


def test_examples_run_a_campaign_with_all_three(tmp_path, monkeypatch, forget_plugins, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "extending_example"}
    for block in code_blocks():
        exec(compile(block, str(DOC), "exec"), namespace)
    for registry, name in PLUGINS:
        assert name in registry

    campaign = namespace["campaign"]
    status = campaign.status()
    assert status["evaluations"] == 8
    assert status["sandbox"].startswith("capped")
    children = [p for p in campaign.archive.programs(campaign.info.id) if p.seq is not None]
    assert children and {p.operator for p in children} == {"nudge"}
    assert all(len(p.parent_ids) == 1 for p in children)  # crossover_arity 0: mutation only
    # Nudging moves the seed's 0.5 towards the optimum at 3 at least once in eight tries.
    assert campaign.best().objective > -((0.5 - 3.0) ** 2)
    assert capsys.readouterr().out.strip().endswith("capped")


def test_a_registered_policy_is_what_parents_come_from(tmp_path, monkeypatch, forget_plugins):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "extending_example"}
    exec(compile(code_blocks()[0], str(DOC), "exec"), namespace)
    import random

    from evolve.archive import Archive, NewProgram

    with Archive(f"sqlite:///{tmp_path / 'a.db'}") as arc:
        cid = arc.create_campaign("c", "toy", {}).id
        ids = [
            arc.add_program(cid, NewProgram(code=f"x = {i}", island=0, status="ok", fitness=-float(i), born_at=i)).id
            for i in range(20)
        ]
        parents = arc.sample_parents(cid, 0, 2, "youngest_elite", random.Random(0))
        # The 16 fittest are those born 0..15 (not the best two, not the youngest overall).
        assert [p.id for p in parents] == [ids[15], ids[14]]
