"""GRPO's generation budget follows the model's size and the device; skipped SOAR rounds
are said at the default log level."""

from __future__ import annotations

import json
import logging

import pytest

from evolve.finetune.sizing import grpo_defaults, model_parameters

QWEN_05B = {"hidden_size": 896, "num_hidden_layers": 24, "vocab_size": 151936, "intermediate_size": 4864}
QWEN_7B = {"hidden_size": 3584, "num_hidden_layers": 28, "vocab_size": 152064, "intermediate_size": 18944}
TINY = {"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 1000, "intermediate_size": 128}


def _model(tmp_path, config, name="m"):
    d = tmp_path / name
    d.mkdir()
    (d / "config.json").write_text(json.dumps(config))
    return d


def test_parameters_from_config(tmp_path):
    assert 4e8 < model_parameters(_model(tmp_path, QWEN_05B)) < 7e8
    assert 6e9 < model_parameters(_model(tmp_path, QWEN_7B, "b")) < 9e9


def test_weights_files_count_when_present(tmp_path):
    d = _model(tmp_path, {"torch_dtype": "float32"})
    (d / "model.safetensors").write_bytes(b"\0" * 4000)
    assert model_parameters(d) == 1000


@pytest.mark.parametrize(
    ("config", "device", "expected"),
    [
        (TINY, "cpu", {"num_generations": 4, "max_completion_length": 256}),
        (QWEN_05B, "cpu", {"num_generations": 2, "max_completion_length": 256}),
        (QWEN_7B, "cpu", {"num_generations": 2, "max_completion_length": 128}),
        (QWEN_7B, "cuda", {"num_generations": 4, "max_completion_length": 1024}),
    ],
)
def test_defaults_shrink_on_cpu_with_the_model(tmp_path, config, device, expected):
    assert grpo_defaults(_model(tmp_path, config), device) == expected


def test_a_skipped_round_is_said_at_the_default_level(tmp_path, caplog):
    import evolve
    from evolve.finetune import FinetuneSchedule
    from tests.e2e.conftest import QUADRATIC

    c = evolve.create_campaign(QUADRATIC, storage=f"sqlite:///{tmp_path}/s.db", budget=1, islands=1, sandbox="process")
    c.run()
    schedule = FinetuneSchedule(base=str(_model(tmp_path, TINY)), out_root=tmp_path / "ft", every=1)
    with caplog.at_level(logging.WARNING):
        assert schedule.maybe_run(c.archive, c.name, 1) is None
    skipped = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped and skipped[0].levelno == logging.WARNING
