"""The README's offline campaign, as a new user runs it: bin packing evolved by the GP
operator beats best fit (5.37 % excess on OR3), and the exported program reproduces
that when re-scored independently with `evolve score`."""

import json

import pytest

from tests.e2e.conftest import evolve_cli

BEST_FIT_EXCESS = 5.367793240556666


@pytest.mark.slow
def test_offline_bin_packing_campaign_beats_best_fit(tmp_path):
    evolve_cli("run", "bin_packing", "--budget", "300", "--no-progress", cwd=tmp_path, timeout=1500)
    evolve_cli("export", "bin_packing", "--top", "1", "--out", "export", cwd=tmp_path)
    [program] = sorted((tmp_path / "export").glob("*.py"))
    meta = json.loads(program.with_suffix(".json").read_text())
    assert meta["objective"]["value"] < BEST_FIT_EXCESS

    rescored = evolve_cli("score", str(program), "bin_packing", cwd=tmp_path)
    result = json.loads(rescored.stdout)
    assert result["status"] == "ok"
    assert result["objective"] == pytest.approx(meta["objective"]["value"], abs=1e-12)
    assert result["objective"] < BEST_FIT_EXCESS
