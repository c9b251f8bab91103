"""Fixtures for fine-tuning tests: a tiny local model and a hand-made campaign
(see finetune_campaign.py for what it holds). No test touches a model hub."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for tiny_model

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from finetune_campaign import FakeArchive, make_campaign  # noqa: E402


@pytest.fixture
def campaign():
    from operators.finetune.records import CampaignData

    return CampaignData.from_records(*make_campaign())


@pytest.fixture
def fake_archive():
    return FakeArchive(*make_campaign())


@pytest.fixture(scope="session")
def tiny_model():
    from tiny_model import cached_tiny_model

    return cached_tiny_model()
