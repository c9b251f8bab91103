"""The dashboard commands in README.md and docs/dashboard.md, run as written against a
real (small) bin_packing campaign in the default storage of a fresh directory."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _commands(path: Path, heading: str) -> list[str]:
    """The lines of the first ```bash block after ``heading``, comments dropped."""
    text = path.read_text()
    block = re.search(r"```bash\n(.*?)```", text[text.index(heading) :], re.S)
    assert block, f"no bash block after {heading!r} in {path.name}"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def _evolve(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOLVE_")}
    return subprocess.run(
        [sys.executable, "-m", "evolve", *args], cwd=cwd, capture_output=True, text=True, env=env, **kw
    )


def _serve_and_check(args: list[str], cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOLVE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "evolve", *args, "--port", "0"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "COLUMNS": "400"},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("Evolve dashboard on http://127.0.0.1:"), line + (
            proc.stderr.read() if proc.poll() else ""
        )
        base = line.split()[3].split("#")[0].rstrip("/")
        deadline = time.monotonic() + 30
        while True:
            try:
                campaigns = httpx.get(f"{base}/api/campaigns").json()
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert [c["name"] for c in campaigns] == ["bin_packing"]
        assert httpx.get(f"{base}/").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize(
    "doc, heading", [("README.md", "## Watching a campaign"), ("docs/dashboard.md", "# Seeing a campaign")]
)
def test_documented_commands_work(doc, heading, tmp_path):
    commands = _commands(ROOT / doc, heading)
    assert any(c.startswith("evolve dashboard") for c in commands)
    made = _evolve(
        ["run", "bin_packing", "--budget", "2", "--islands", "2", "--case-set", "or3_small", "--no-progress"],
        tmp_path,
        timeout=600,
    )
    assert made.returncode == 0, made.stderr
    for command in commands:
        words = shlex.split(command)
        if words[:2] == ["pip", "install"]:
            assert "dashboard = [" in (ROOT / "pyproject.toml").read_text()  # the extra it names exists
            continue
        assert words[0] == "evolve", command
        if words[1] == "dashboard":
            _serve_and_check(words[1:], tmp_path)
            continue
        done = _evolve(words[1:], tmp_path, timeout=300)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        if words[1] == "report":
            html = (tmp_path / words[words.index("--out") + 1]).read_text()
            assert 'http-equiv="Content-Security-Policy"' in html and "bin_packing" in html
        if words[1] == "plot":
            out = tmp_path / words[words.index("--out") + 1]
            assert (out / "bin_packing_progress_evaluations.png").is_file()
            assert (out / "bin_packing_progress_evaluations.svg").is_file()
