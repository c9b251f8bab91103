"""The docs list exactly what the registries hold: README's and docs/extending.md's plug-in
tables are generated from them (``python -m evolve.plugins --write``) and must not drift."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from evolve import plugins
from evolve.config import build_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("doc", plugins.DOCS)
def test_registry_tables_match_the_registries(doc):
    text = (ROOT / doc).read_text()
    found = plugins.sections(text)
    assert found, f"{doc} has no generated registry table"
    for kind, table in found.items():
        assert table == plugins.table(kind), f"{doc}: the {kind} table drifted; run python -m evolve.plugins --write"


def test_readme_lists_every_kind_and_every_name():
    readme = (ROOT / "README.md").read_text()
    found = plugins.sections(readme)
    assert set(found) == {"selection", "operator", "sandbox"}
    for kind in found:
        listed = re.findall(r"^\| `([\w-]+)` \|", found[kind], re.M)
        assert [n for n in listed if n != "auto"] == list(plugins.REGISTRIES[kind].names()), kind
    # The built-in problems keep a richer hand-written table; its names must match too.
    section = readme.split("## Built-in problems", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([\w-]+)` \|", section, re.M)
    assert listed == list(plugins.REGISTRIES["problem"].names())


def test_readme_config_example_is_valid():
    block = re.search(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None
    cfg = build_config(tomllib.loads(block[1]))
    assert cfg.selection == "dgm" and cfg.policy_options()["pool"] == 128


def test_plugins_command_prints_the_tables(capsys):
    assert plugins.main([]) == 0
    out = capsys.readouterr().out
    for kind in plugins.REGISTRIES:
        assert plugins.table(kind) in out
