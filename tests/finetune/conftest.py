"""Fixtures for fine-tuning tests: a tiny local model and a hand-made campaign
(see finetune_campaign.py for what it holds). No test touches a model hub."""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from tests.finetune.finetune_campaign import FakeArchive, make_campaign  # noqa: E402


@pytest.fixture
def campaign():
    from evolve.finetune.records import CampaignData

    return CampaignData.from_records(*make_campaign())


@pytest.fixture
def fake_archive():
    return FakeArchive(*make_campaign())


@pytest.fixture(scope="session")
def tiny_model():
    from tests.tiny_model import cached_tiny_model

    return cached_tiny_model()
