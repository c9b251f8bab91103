"""Every user error on the command line: one line on stderr, exit code 2, no traceback,
nothing stored lost. Unexpected errors: one line that points at --debug."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

BAD_INPUTS = {
    "budget_not_a_number": ["run", "bin_packing", "--budget", "abc"],
    "unknown_option": ["run", "bin_packing", "--bogus-flag"],
    "missing_argument": ["status"],
    "missing_option_value": ["run", "bin_packing", "--budget"],
    "unknown_command": ["nosuchcommand"],
    "no_problem_at_all": ["run"],
    "islands_zero": ["run", "bin_packing", "--islands", "0"],
    "unknown_problem": ["run", "nosuchproblem"],
    "unknown_campaign": ["status", "nope"],
    "unknown_campaign_best": ["best", "nope"],
    "top_not_a_number": ["best", "nope", "--top", "many"],
    "missing_config_file": ["run", "bin_packing", "--config", "missing.toml"],
    "unparseable_config": ["run", "--config", "broken.toml"],
    "config_and_argument_disagree": ["run", "circle_packing", "--config", "bp.toml"],
    "unknown_config_key": ["run", "--config", "unknown_key.toml"],
    "unknown_sandbox": ["run", "bin_packing", "--sandbox", "vm"],
    "unknown_isolation": ["run", "bin_packing", "--isolation", "chroot"],
    "no_isolation_without_opt_in": ["run", "bin_packing", "--sandbox", "process", "--isolation", "none"],
    "unknown_selection": ["run", "bin_packing", "--selection", "lottery"],
    "bad_model_spec": ["run", "bin_packing", "--model", "gpt4"],
    "missing_api_key": ["run", "bin_packing", "--model", "openai:gpt-4o-mini", "--sandbox", "process"],
    "read_only_database": ["run", "bin_packing", "--storage", "sqlite:///file:ro.db?mode=ro&uri=true"],
    "unusable_storage_url": ["run", "bin_packing", "--storage", "nosuchdb://x/y"],
    "unreachable_postgres": ["db", "upgrade", "postgresql://nobody@127.0.0.1:1/evolve"],
    "score_missing_file": ["score", "nofile.py", "bin_packing"],
    "worker_without_storage": ["worker", "bp"],
    "finetune_unknown_method": ["finetune", "nope", "--method", "rlhf", "--base", "m", "--out", "o"],
    "price_without_model": ["run", "bin_packing", "--price-in", "1"],
    "grpo_option_without_grpo": ["finetune", "nope", "--base", "m", "--out", "o", "--num-generations", "2"],
    "grpo_zero_generations": [
        "finetune",
        "nope",
        "--method",
        "grpo",
        "--base",
        "m",
        "--out",
        "o",
        "--num-generations",
        "0",
    ],
}


def _evolve(args: list[str], cwd, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVOLVE_", "OPENAI_", "ANTHROPIC_"))}
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "evolve", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-errors")
    (d / "broken.toml").write_text("budget = [unclosed\n")
    (d / "bp.toml").write_text('problem = "bin_packing"\nbudget = 4\n')
    (d / "unknown_key.toml").write_text('problem = "bin_packing"\nbudgett = 4\n')
    sqlite3.connect(d / "ro.db").execute("create table t (x)").connection.close()
    return d


@pytest.mark.parametrize("args", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_user_error_is_one_line_and_exit_2(args, workdir):
    done = _evolve(args, workdir)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_bad_input_stores_nothing_and_loses_nothing(workdir):
    db = workdir / "kept.db"
    assert _evolve(["db", "upgrade", f"sqlite:///{db}"], workdir).returncode == 0
    before = db.read_bytes()
    done = _evolve(["run", "bin_packing", "--storage", f"sqlite:///{db}", "--budget", "abc"], workdir)
    assert done.returncode == 2
    assert db.read_bytes() == before


def test_markup_in_messages_is_printed_intact(workdir):
    # A bracketed extra in an error message must survive rich's markup parser.
    done = _evolve(["run", "bin_packing", "--config", "extra.toml"], workdir)
    assert done.returncode == 2
    (workdir / "bracket[docker].toml").write_text("budget = [unclosed\n")
    done = _evolve(["run", "--config", "bracket[docker].toml"], workdir)
    assert "bracket[docker].toml" in done.stderr, done.stderr


def test_unexpected_errors_say_one_line_and_point_at_debug(capsys):
    from rich.console import Console

    from evolve.cli_support import run_app

    def app(**_):
        raise RuntimeError("something no check foresaw\nsecond line")

    with pytest.raises(SystemExit) as e:
        run_app(app, Console(stderr=True), lambda: False)
    assert e.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "error: unexpected RuntimeError: something no check foresaw second line (run with --debug for the traceback)"
    ]
    with pytest.raises(RuntimeError):  # --debug: the traceback
        run_app(app, Console(stderr=True), lambda: True)


def test_debug_flag_shows_the_traceback(workdir):
    done = _evolve(["--debug", "status", "nope", "--storage", "sqlite:///debug.db"], workdir)
    assert done.returncode != 0 and "Traceback" in done.stderr
