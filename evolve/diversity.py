"""Near-duplicate rejection in the loop, by code embeddings (``near_duplicate_threshold``).

Exact duplicates are caught by code hash; this optional check (``[embeddings]`` extra)
also rejects children whose code embedding is almost that of an archived program.
Quality-diversity parent choice (MAP-Elites, novelty, FunSearch clusters) is a selection
policy: see ``evolve.archive.selection``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evolve.archive.campaign_store import CampaignStore
    from evolve.archive.policies.embeddings import EmbeddingDeduper, NearDuplicate
    from evolve.archive.records import ProgramRecord
    from evolve.config import Config

log = logging.getLogger(__name__)


class NearDuplicates:
    """The campaign's embedding deduper, or nothing when the config asks for none."""

    def __init__(self, store: CampaignStore, config: Config):
        self.deduper: EmbeddingDeduper | None = None
        if config.near_duplicate_threshold is not None:
            from evolve.archive.policies.embeddings import DEFAULT_MODEL, EmbeddingDeduper

            self.deduper = EmbeddingDeduper(
                store, config.near_duplicate_threshold, model=config.embedding_model or DEFAULT_MODEL
            )

    @property
    def enabled(self) -> bool:
        return self.deduper is not None

    def stored(self, record: ProgramRecord) -> None:
        """After a program is stored (archive thread): remember its embedding."""
        if self.deduper is not None and record.status == "ok":
            self.deduper.add(record.id, record.code)

    def near_duplicate(self, code: str) -> NearDuplicate | None:
        """The most similar stored program at or above the threshold (program_id,
        similarity), or None."""
        if self.deduper is None:
            return None
        return self.deduper.check(code)
