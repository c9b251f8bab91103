"""The archive benchmark runs at a small scale on both backends and prints its JSON (the
figures themselves are not asserted: speed belongs to benchmarks, not tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evolve.archive import SELECTION_POLICIES

ROOT = Path(__file__).resolve().parents[2]
LATENCY = {"p50_ms", "p95_ms", "mean_ms"}


@pytest.mark.postgres
@pytest.mark.slow
def test_archive_bench_json_on_sqlite_and_postgres(postgres_url, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.archive_bench",
            *("--scale", "1500", "--adds", "20", "--samples", "10", "--embed-dim", "16"),
            *("--backend", "sqlite", "--backend", "postgres", "--pg-url", postgres_url, "--dir", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert {"machine", "islands", "backends"} <= set(report)
    assert [b["backend"] for b in report["backends"]] == ["sqlite", "postgres"]
    assert report["backends"][1]["server"]["synchronous_commit"] in (
        "on",
        "off",
        "local",
        "remote_write",
        "remote_apply",
    )
    for backend in report["backends"]:
        (res,) = backend["results"]
        assert res["programs"] == 1500 and res["bulk_import"]["rows"] == 1500
        assert res["db_bytes_per_program"] > 0
        assert res["add_program"]["per_s"] > 0 and LATENCY <= set(res["add_program"])
        assert res["add_programs_batched"]["n"] == 20 and res["add_programs_batched"]["per_s"] > 0
        for strategy in (n for n in SELECTION_POLICIES.names() if n != "map_elites"):
            assert LATENCY | {"cold_ms"} <= set(res[f"sample_{strategy}"]), strategy
        assert 0.0 <= res["novelty_index"]["recall_at_10"] <= 1.0
        dup = res["near_duplicate_lookup"]
        assert LATENCY <= set(dup) and dup["dim"] == 16 and dup["found_planted"] == 1.0
        assert LATENCY <= set(res["find_by_hash"]) and LATENCY <= set(res["best_per_island"])
        assert res["export_jsonl_gz"]["records"] > 1500
