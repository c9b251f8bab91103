"""The examples in docs/archive.md run, in order, in one temporary directory: Python
blocks in this interpreter, bash blocks in a shell with this environment's ``evolve``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "archive.md"
BLOCKS = re.findall(r"```(python|bash)\n(.*?)```", DOC.read_text(), flags=re.S)


def test_docs_examples_run_in_order(tmp_path, monkeypatch):
    assert {lang for lang, _ in BLOCKS} == {"python", "bash"}
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for i, (lang, code) in enumerate(BLOCKS):
        if lang == "python":
            exec(compile(code, f"{DOC.name}[{i}]", "exec"), {"__name__": "__doc_example__"})
        else:
            proc = subprocess.run(["bash", "-e", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
            assert proc.returncode == 0, (code, proc.stderr)
    from evolve.archive import Archive

    with Archive("sqlite:///moved.db") as arc:
        assert arc.count(arc.get_campaign("docs-moved").id) == 200
