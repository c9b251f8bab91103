"""Peers' problem folders run unchanged as campaigns: `evolve run DIR` on an OpenEvolve
folder and on a ShinkaEvolve folder, offline with the GP operator. The campaign stores
programs that beat the seed, and status and export say the scores come from an
untrusted evaluator, with the way to a trusted score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import evolve_cli

FOLDERS = Path(__file__).resolve().parents[1] / "problems" / "peer_folders"


@pytest.mark.slow
@pytest.mark.parametrize("name, engine", [("openevolve_minimize", "OpenEvolve"), ("shinka_packing", "ShinkaEvolve")])
def test_peer_folder_campaign_improves_and_is_labelled(tmp_path, name, engine):
    folder = FOLDERS / name
    run = evolve_cli(
        "run", str(folder), "--budget", "40", "--seed", "0", "--sandbox", "process", "--no-progress",
        cwd=tmp_path, timeout=900,
    )  # fmt: skip
    assert "best combined_score" in run.stdout and "note: scores reported by an untrusted evaluator" in run.stdout

    status = json.loads(evolve_cli("status", name, "--json", cwd=tmp_path).stdout)
    assert status["evaluations"] == 40
    assert status["scores"].startswith("scores reported by an untrusted evaluator") and engine in status["scores"]
    assert "problem.py" in status["scores_hint"]
    assert status["by_status"]["ok"] >= 5

    table = evolve_cli("status", name, cwd=tmp_path).stdout
    assert "untrusted evaluator" in table

    export = evolve_cli("export", name, "--top", "3", "--out", "export", cwd=tmp_path)
    assert "untrusted evaluator" in export.stderr
    metas = [json.loads(p.read_text()) for p in sorted((tmp_path / "export").glob("*.json"))]
    assert metas and all(m["scores"].startswith("scores reported by an untrusted evaluator") for m in metas)
    seed = [m for m in metas if m["generation"] == 0]
    best = metas[0]["objective"]["value"]
    seed_score = {"openevolve_minimize": 0.6818362008244238, "shinka_packing": 0.24}[name]
    assert best > seed_score + 1e-9  # an improving program was found and stored
    assert not seed or seed[0]["objective"]["value"] == pytest.approx(seed_score)
