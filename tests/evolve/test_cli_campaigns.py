"""Campaigns from the command line: a config file that names the problem, campaigns
made from an in-memory Problem inspected from the archive alone, the Docker-fallback
warning only where a sandbox is chosen, no password stored or printed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

import evolve
from tests.e2e.conftest import QUADRATIC


def cli(*args, cwd, env=None, check=True):
    full = {k: v for k, v in os.environ.items() if not k.startswith("EVOLVE_")}
    full.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "evolve", *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=full
    )
    if check and done.returncode != 0:
        raise AssertionError(f"evolve {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def test_the_config_file_may_name_the_problem(tmp_path):
    (tmp_path / "run.toml").write_text(f'problem = "{QUADRATIC}"\nbudget = 2\nislands = 1\nsandbox = "process"\n')
    first = cli("run", "--config", "run.toml", "--no-progress", cwd=tmp_path)
    assert "best value" in first.stdout
    same = cli("run", QUADRATIC, "--config", "run.toml", "--budget", "3", "--no-progress", cwd=tmp_path)
    assert "resuming at 2" in same.stdout
    other = cli("run", "circle_packing", "--config", "run.toml", "--no-progress", cwd=tmp_path, check=False)
    assert other.returncode == 2 and len(other.stderr.strip().splitlines()) == 1
    assert "names problem" in other.stderr


def _in_memory_problem() -> evolve.Problem:
    def score(outputs, cases):
        x = float(outputs[0])
        if not math.isfinite(x):
            raise evolve.InvalidOutput("x must be finite")
        return {"value": -((x - 3) ** 2) + 10}

    return evolve.Problem(
        name="inline",
        description="maximise -(x-3)^2 + 10",
        initial_program="# EVOLVE-BLOCK-START\ndef main():\n    return 0.0\n# EVOLVE-BLOCK-END\n",
        harness="def run(program, case):\n    return program.main()\n",
        cases=[None],
        score=score,
        objective="value",
    )


def test_a_campaign_of_an_in_memory_problem_is_inspected_from_the_archive(tmp_path):
    db = f"sqlite:///{tmp_path}/mem.db"
    evolve.create_campaign(_in_memory_problem(), storage=db, budget=3, islands=1, sandbox="process").run()
    status = json.loads(cli("status", "inline", "--storage", db, "--json", cwd=tmp_path).stdout)
    assert status["objective"] == "value" and status["direction"] == "max" and status["evaluations"] == 3
    best = cli("best", "inline", "--storage", db, cwd=tmp_path).stdout
    assert "def main" in best
    cli("export", "inline", "--storage", db, "--top", "1", "--out", "out", cwd=tmp_path)
    [meta] = (tmp_path / "out").glob("*.json")
    assert json.loads(meta.read_text())["objective"]["name"] == "value"
    # Evaluating needs the real problem: one line saying so.
    worker = cli("worker", "inline", "--storage", db, cwd=tmp_path, check=False)
    assert worker.returncode == 2 and "evolve.Problem" in worker.stderr
    assert len(worker.stderr.strip().splitlines()) == 1


def test_seed_copies_are_not_counted_as_evaluations(tmp_path):
    db = f"sqlite:///{tmp_path}/seeds.db"
    cli(
        "run",
        QUADRATIC,
        "--storage",
        db,
        "--budget",
        "2",
        "--islands",
        "3",
        "--sandbox",
        "process",
        "--no-progress",
        cwd=tmp_path,
    )
    status = json.loads(cli("status", "quadratic", "--storage", db, "--json", cwd=tmp_path).stdout)
    evaluated = {k: v for k, v in status["by_status"].items() if k not in ("duplicate", "rejected")}
    assert sum(evaluated.values()) == status["evaluations"] == 2
    assert status["seeds"] == 3


def test_the_docker_fallback_is_said_once_where_a_sandbox_is_chosen(tmp_path):
    no_docker = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    db = f"sqlite:///{tmp_path}/fb.db"
    run = ["run", QUADRATIC, "--storage", db, "--budget", "2", "--islands", "1", "--no-progress"]
    first = cli(*run, cwd=tmp_path, env=no_docker)
    assert first.stderr.count("Docker is not usable") == 1, first.stderr
    for args in (run, ["status", "quadratic", "--storage", db], ["best", "quadratic", "--storage", db]):
        quiet = cli(*args, cwd=tmp_path, env=no_docker)  # nothing to evaluate: no sandbox chosen
        assert "Docker" not in quiet.stderr, (args, quiet.stderr)


def test_extras_hints_keep_their_brackets(tmp_path):
    shadow = tmp_path / "shadow"
    (shadow / "docker").mkdir(parents=True)
    (shadow / "docker" / "__init__.py").write_text("raise ImportError('No module named docker')\n")
    check = cli("sandbox", "check", cwd=tmp_path, env={"PYTHONPATH": str(shadow)})
    assert "pip install 'evolve-search[docker]'" in " ".join(check.stdout.split()), check.stdout
    vllm = cli(
        "run", QUADRATIC, "--model", "vllm:/nonexistent/model", "--sandbox", "process", cwd=tmp_path, check=False
    )
    assert vllm.returncode == 2, vllm.stderr
    if "not installed" in vllm.stderr:
        assert "'evolve-search[vllm]'" in " ".join(vllm.stderr.split()), vllm.stderr


@pytest.mark.postgres
def test_no_password_is_stored_or_printed(tmp_path, postgres_schema_url):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    secret = "s3cret-pw-" + os.urandom(4).hex()
    url = make_url(postgres_schema_url).set(password=secret).render_as_string(hide_password=False)
    run = cli(
        "run",
        QUADRATIC,
        "--storage",
        url,
        "--budget",
        "1",
        "--islands",
        "1",
        "--sandbox",
        "process",
        "--no-progress",
        cwd=tmp_path,
    )
    status = cli("status", "quadratic", "--storage", url, "--json", cwd=tmp_path)
    bad = cli("status", "nope", "--storage", url, cwd=tmp_path, check=False)
    for out in (run.stdout, run.stderr, status.stdout, bad.stderr):
        assert secret not in out
    engine = create_engine(postgres_schema_url)
    with engine.connect() as conn:
        stored = [row[0] for row in conn.execute(text("select config from campaigns"))]
    engine.dispose()
    assert stored and secret not in json.dumps(stored)
    assert json.loads(cli("status", "quadratic", "--storage", url, "--json", cwd=tmp_path).stdout)["evaluations"] == 1
