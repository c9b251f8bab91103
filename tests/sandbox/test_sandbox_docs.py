"""The runnable example in docs/sandbox.md runs and prints what its comment says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"


def test_the_concurrency_example_runs():
    text = DOC.read_text()
    section = text[text.index("## How many evaluations run at once") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})
    printed = out.getvalue().strip().splitlines()
    assert printed[0].startswith("at once now: ") and int(printed[0].split(": ")[1]) >= 1
    expected = re.search(r"print\(\[round.*# (\[.*\])", code).group(1)
    assert printed[-1] == expected
