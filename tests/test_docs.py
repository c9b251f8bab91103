"""The documentation points at things that exist and says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from evolve.archive.selection import SELECTION_POLICIES

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_relative_links_resolve():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links {target}, which does not exist"


def test_no_flag_the_cli_does_not_have():
    for doc in DOCS:
        assert "--db " not in doc.read_text() and "--db]" not in doc.read_text(), doc.name


def test_every_selection_policy_is_listed():
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("selection ="))
    listed = [w.strip() for w in line.split("#", 1)[1].split("|")]
    assert listed == list(SELECTION_POLICIES.names())


def test_every_named_markdown_file_exists():
    for doc in DOCS:
        for name in set(re.findall(r"(?<![\w/.-])([\w/-]+\.md)\b", doc.read_text())):
            places = (doc.parent / name, ROOT / name, ROOT / "docs" / name)
            assert any(p.exists() for p in places), f"{doc.name} names {name}, which does not exist"
