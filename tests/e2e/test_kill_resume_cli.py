"""SIGKILL a real `evolve run` mid-campaign, start it again, and check the archive."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

from tests.e2e.conftest import evolve_cli


def _children(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("select seq, status, code from programs where seq is not null").fetchall()
    finally:
        con.close()


def test_sigkill_then_resume_completes_budget_without_repeats(tmp_path, quadratic):
    db = tmp_path / "k.db"
    args = [
        "run",
        quadratic,
        "--budget",
        "60",
        "--islands",
        "2",
        "--storage",
        f"sqlite:///{db}",
        "--no-progress",
        "--seed",
        "3",
        "--sandbox",
        "process",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "evolve", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    before = []
    while time.time() < deadline:
        time.sleep(0.2)
        if db.exists():
            try:
                before = _children(db)
            except sqlite3.OperationalError:
                continue
            if len(before) >= 15:
                break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _children(db)
    assert 15 <= len(before) < 60, "the kill should land mid-run"

    evolve_cli(*args, cwd=tmp_path)
    after = _children(db)
    seqs = [s for s, _, _ in after]
    assert len(seqs) == len(set(seqs)), "a proposal was stored twice"
    assert set(before) <= set(after), "rows stored before the kill changed"
    evaluated = [r for r in after if r[1] in ("ok", "error", "timeout", "invalid")]
    assert len(evaluated) == 60

    # and the interrupted campaign equals an uninterrupted one with the same seed
    ref = tmp_path / "ref.db"
    evolve_cli(*[a if a != f"sqlite:///{db}" else f"sqlite:///{ref}" for a in args], cwd=tmp_path)
    assert sorted(_children(ref)) == sorted(after)


def test_bad_problem_is_one_line_error(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "problem.py").write_text("def broken(:\n")
    proc = evolve_cli("run", str(bad), "--storage", f"sqlite:///{tmp_path}/x.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and "syntax error" in lines[0] and "line 1" in lines[0]
    assert "Traceback" not in proc.stderr

    proc = evolve_cli("run", "no_such_problem", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "bin_packing" in proc.stderr  # lists the known built-ins


def test_seed_that_fails_stops_before_the_campaign(tmp_path):
    d = tmp_path / "failing"
    d.mkdir()
    (d / "problem.py").write_text(
        'OBJECTIVE = "v"\nENTRY_POINT = "solve"\n'
        "INITIAL_PROGRAM = \"def solve():\\n    raise RuntimeError('seed is broken')\\n\"\n"
        'def score(outputs, cases):\n    return {"v": 1.0}\n'
    )
    proc = evolve_cli("run", str(d), "--storage", f"sqlite:///{tmp_path}/f.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "fails its own evaluation" in proc.stderr and "seed is broken" in proc.stderr


def test_score_returning_non_numbers_is_caught_at_start(tmp_path):
    d = tmp_path / "nonnum"
    d.mkdir()
    (d / "problem.py").write_text(
        'OBJECTIVE = "v"\nENTRY_POINT = "solve"\nINITIAL_PROGRAM = "def solve():\\n    return 1\\n"\n'
        'def score(outputs, cases):\n    return {"v": "high"}\n'
    )
    proc = evolve_cli("run", str(d), "--storage", f"sqlite:///{tmp_path}/n.db", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "must be a real number" in proc.stderr


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path, quadratic):
    db = tmp_path / "c.db"
    args = [
        "run",
        quadratic,
        "--budget",
        "400",
        "--islands",
        "2",
        "--storage",
        f"sqlite:///{db}",
        "--no-progress",
        "--sandbox",
        "process",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "evolve", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (db.exists() and _count(db) >= 5):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command again to resume" in out
    assert "Traceback" not in out
    con = sqlite3.connect(db)
    assert con.execute("select status from campaigns").fetchone()[0] == "stopped"
    con.close()
    stored = _children(db)
    evolve_cli(*[a if a != "400" else "30" for a in args], cwd=tmp_path)  # resume with a smaller budget
    after = _children(db)
    assert set(stored) <= set(after) and len({s for s, _, _ in after}) == len(after)


def _count(db):
    try:
        return len(_children(db))
    except sqlite3.OperationalError:
        return 0
