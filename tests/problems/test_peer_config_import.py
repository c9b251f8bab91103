"""`evolve config import`: an OpenEvolve or ShinkaEvolve config becomes an Evolve TOML
that Evolve accepts, with the settings that have an equivalent and a note of the rest."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from evolve.config import build_config, read_config_file
from evolve.config_import import import_config, write_imported
from evolve.operators.llm.prompts import Prompts
from tests.e2e.conftest import evolve_cli

FOLDERS = Path(__file__).resolve().parent / "peer_folders"


def test_openevolve_config(tmp_path):
    out = tmp_path / "evolve.toml"
    written = write_imported(FOLDERS / "openevolve_minimize" / "config.yaml", out, problem="openevolve_minimize")
    assert written == [out, tmp_path / "evolve_prompts" / "system.txt"]
    data = tomllib.loads(out.read_text())
    assert {k: data[k] for k in ("problem", "budget", "seed", "islands", "migration_interval", "time_limit")} == {
        "problem": "openevolve_minimize",
        "budget": 120,
        "seed": 3,
        "islands": 3,
        "migration_interval": 10,
        "time_limit": 30.0,
    }
    assert data["workers"] == 2 and data["migration_size"] == 2  # 10% of 60 / 3 islands
    models = data["llm"]["models"]
    assert models[0] == {"spec": "openai:gpt-4o-mini", "weight": 0.8, "temperature": 0.6, "max_tokens": 2048}
    assert models[1]["spec"] == "openai-compat:qwen2.5-coder@http://127.0.0.1:8000/v1"
    assert "api_key" not in out.read_text() and "sk-not-a-real-key" not in out.read_text()
    assert "database.feature_dimensions" in out.read_text()  # named as not carried over
    cfg = build_config(read_config_file(out))
    assert cfg.llm is not None and cfg.operator_kind == "llm"
    system = Prompts(cfg.llm.templates_dir).render("system", problem="", objective="")
    assert system.startswith("You improve a search algorithm") and "Cost is $0." in system


def test_shinka_config(tmp_path):
    imported = import_config(FOLDERS / "shinka_packing" / "shinka.yaml")
    assert imported.source_kind == "shinka"
    s = imported.settings
    assert (s["budget"], s["islands"], s["migration_interval"], s["workers"], s["time_limit"]) == (80, 2, 10, 2, 120.0)
    assert [m["spec"] for m in s["llm"]["models"]] == ["openai:gpt-4.1-mini", "anthropic:claude-sonnet-4-5"]
    assert s["llm"]["models"][0]["temperature"] == 0.5 and s["llm"]["max_cost"] == 3.0
    assert s["llm"]["mix"] == {"diff": 0.6, "rewrite": 0.3, "crossover": 0.1}
    assert any("gemini-2.5-flash" in d for d in imported.dropped)
    out = tmp_path / "shinka.toml"
    write_imported(FOLDERS / "shinka_packing" / "shinka.yaml", out)
    build_config(read_config_file(out))


def test_cli_writes_a_config_evolve_accepts_and_refuses_bad_input(tmp_path):
    src = FOLDERS / "openevolve_minimize" / "config.yaml"
    done = evolve_cli("config", "import", str(src), "--out", "e.toml", cwd=tmp_path)
    assert "e.toml" in done.stdout
    again = evolve_cli("config", "import", str(src), "--out", "e.toml", cwd=tmp_path, check=False)
    assert again.returncode == 2 and "exists: pass --force" in again.stderr and "Traceback" not in again.stderr
    evolve_cli("config", "import", str(src), "--out", "e.toml", "--force", cwd=tmp_path)
    (tmp_path / "odd.yaml").write_text("just: a mapping\n")
    bad = evolve_cli("config", "import", "odd.yaml", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "nothing to import" in bad.stderr
    missing = evolve_cli("config", "import", "nope.yaml", cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


@pytest.mark.parametrize("text", ["max_iterations: 5\n", "evo_config:\n  num_generations: 5\n"])
def test_minimal_configs_import_without_models(tmp_path, text):
    (tmp_path / "c.yaml").write_text(text)
    write_imported(tmp_path / "c.yaml", tmp_path / "c.toml")
    cfg = build_config(read_config_file(tmp_path / "c.toml"))
    assert cfg.budget == 5 and cfg.operator_kind == "gp"
