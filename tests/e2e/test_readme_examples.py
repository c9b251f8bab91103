"""Every command, config file and code example of README.md, run in order in one fresh
directory, as a user would paste them.

Read from README.md (tests/e2e/readme.py), so a new example is run without touching this
file. What is changed, and why:

- budgets are capped at ``BUDGET`` evaluations (and ``--budget BUDGET`` is added where a
  command relies on the default of 200): the examples' point here is that they work; the
  two-command campaign at its full budget is tests/e2e/test_readme_bin_packing.py;
- hosted models are a scripted server (tests/llm_servers.py) reached the way the README
  says, through ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL``, with test keys for the
  ``export ...=sk-...`` lines; the local server address ``http://127.0.0.1:8000/v1`` is
  that server's;
- ``postgresql://me@dbhost/evolve`` is the test PostgreSQL server;
- ``pip install ...`` is not run (the environment is installed; tests/test_packaging.py
  builds the wheel) and ``bash .ci/test`` is the test run itself;
- the Python API example gets ``my_problem = "./myproblem"`` (the README's own problem);
- commands that serve until stopped (``SERVES``) get a free ``--port``; the test waits
  until they answer HTTP there, then stops them.

Anything else a README command needs that is not here fails this test, naming the line.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import readme
from tests.llm_servers import ScriptedLLMServer

BUDGET = 3
SEED_PROGRAM = (Path(readme.README).parent / "problems" / "bin_packing" / "initial_program.py").read_text()
SEED_RETURN = next(line for line in SEED_PROGRAM.splitlines() if line.strip().startswith("return "))
MODELS = ["gpt-4o-mini", "claude-sonnet-4-5", "Qwen/Qwen2.5-Coder-7B-Instruct"]
NOT_RUN = ("pip install", "bash .ci/test")
SERVES = ("evolve dashboard",)  # commands that run until stopped: started, asked, stopped


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_packing_replies(req) -> str:
    """Valid children of whatever bin packing program the prompt shows, each different."""
    text = req.messages[-1]["content"]
    if "Compare the two programs" in text or "Merge the new hints" in text:
        return "- tighter bins score higher"
    new = f"    return -(bins - item) - {req.call + 1}e-9 * bins"
    if "SEARCH/REPLACE" in text:
        shown = text[max(text.find("# Current program"), text.find("# Parent programs"), 0) :]
        old = re.search(r"^    return .*$", shown, re.MULTILINE)
        old_line = old.group(0) if old else SEED_RETURN
        return f"THOUGHT: variant {req.call}.\n<<<<<<< SEARCH\n{old_line}\n=======\n{new}\n>>>>>>> REPLACE\n"
    return f"THOUGHT: rewrite {req.call}.\n```python\n{SEED_PROGRAM.replace(SEED_RETURN, new)}```\n"


class Session:
    """One shell: the README's commands in order, in one directory and environment."""

    def __init__(self, cwd: Path, server: ScriptedLLMServer, postgres: str):
        self.cwd, self.server, self.postgres = cwd, server, postgres
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("EVOLVE_", "OPENAI_", "ANTHROPIC_"))}
        self.env.update(OPENAI_BASE_URL=server.openai_url, ANTHROPIC_BASE_URL=server.anthropic_url)
        self.ran: list[str] = []

    def adapt(self, command: str) -> list[str] | None:
        if command.startswith(NOT_RUN):
            return None
        command = command.replace("http://127.0.0.1:8000/v1", self.server.openai_url)
        command = command.replace("postgresql://me@dbhost/evolve", self.postgres)
        words = shlex.split(command)
        if words[0] == "export":
            name, _, _ = words[1].partition("=")
            self.env[name] = "sk-test-" + name.lower()
            return None
        assert words[0] == "evolve", f"README command the test does not know how to run: {command}"
        if "--budget" in words:
            i = words.index("--budget") + 1
            words[i] = str(min(int(words[i]), BUDGET))
        elif (words[1] == "run" and "--replay" not in words and "--config" not in words) or (
            words[1] == "worker" and "--problem" in words
        ):
            words += ["--budget", str(BUDGET)]
        return [sys.executable, "-m", "evolve", *words[1:]]

    def run(self, command: str) -> subprocess.CompletedProcess | None:
        argv = self.adapt(command)
        if argv is None:
            return None
        if command.startswith(SERVES):
            self.serve(command, argv)
            return None
        done = subprocess.run(argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"README command failed: {command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        self.ran.append(command)
        return done

    def serve(self, command: str, argv: list[str]) -> None:
        import time
        import urllib.request

        port = _free_port()
        proc = subprocess.Popen(
            [*argv, "--port", str(port)], cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, f"README command exited: {command}\n{proc.communicate()}"
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                        assert reply.status == 200
                        break
                except OSError:
                    assert time.monotonic() < deadline, f"README command never answered: {command}"
                    time.sleep(0.5)
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
        self.ran.append(command)

    def python(self, code: str, where: str) -> None:
        code = re.sub(r"budget=\d+", f"budget={BUDGET}", code)
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, (
            f"README example at line {where} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )


def _file_block(block: readme.Block) -> Path | None:
    """A python block that opens with a '# path/to/file.py' comment is a file to write."""
    first = block.text.splitlines()[0].strip()
    m = re.fullmatch(r"#\s*([\w./-]+\.py)", first)
    return Path(m.group(1)) if m else None


@pytest.mark.postgres
@pytest.mark.slow
def test_every_readme_example_runs_in_order(tmp_path, postgres_schema_url):
    with ScriptedLLMServer(bin_packing_replies, models=MODELS) as server:
        shell = Session(tmp_path, server, postgres_schema_url)
        for block in readme.blocks():
            if block.lang == "bash":
                for command in readme.commands(block):
                    shell.run(command)
                if block.line < 40:  # after the first campaign: the commands its paragraph names
                    exported = [c for c in readme.inline("evolve ") if c.startswith(("evolve best", "evolve export"))]
                    for command in exported:
                        shell.run(command)
                    for command in readme.inline("evolve score export/"):
                        first = sorted((tmp_path / "export").glob("001_*.py"))[0]
                        pattern = shlex.split(command)[2]
                        shell.run(command.replace(pattern, str(first.relative_to(tmp_path))))
            elif block.lang == "python":
                path = _file_block(block)
                if path is not None:
                    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
                    (tmp_path / path).write_text(block.text)
                else:
                    shell.python('my_problem = "./myproblem"\n' + block.text, str(block.line))
            elif block.lang in ("toml", "yaml"):
                config = re.sub(r"^budget = \d+", f"budget = {BUDGET}", block.text, flags=re.MULTILINE)
                name = "run.toml" if block.lang == "toml" else "run.yaml"
                (tmp_path / name).write_text(config)
                for command in readme.inline("evolve run --config"):
                    shell.run(command)
            else:
                pytest.fail(f"README block at line {block.line} has language {block.lang!r}: add how to run it")
        assert server.completions > 0  # the LLM examples did talk to the (scripted) models
    # Every evolve command the README shows in a block was run.
    wanted = [c for b in readme.blocks("bash") for c in readme.commands(b) if c.startswith("evolve")]
    assert set(wanted) <= set(shell.ran), sorted(set(wanted) - set(shell.ran))
