"""Stored code embeddings (``program_embeddings``) for near-duplicate checks.

The encoder and the similarity test live in ``evolve.archive.policies.embeddings``;
this mixin only writes and reads the vectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select

from evolve.archive.base import ArchiveBase
from evolve.archive.models import PROGRAM_EMBEDDINGS

_T = PROGRAM_EMBEDDINGS
_NEWER = (
    select(_T.c.program_id, _T.c.dim, _T.c.vector)
    .where(_T.c.campaign_id == bindparam("cid"), _T.c.model == bindparam("model"), _T.c.program_id > bindparam("after"))
    .order_by(_T.c.program_id)
)


class StoredEmbedding(NamedTuple):
    program_id: int
    dim: int
    vector: bytes
    """float32 values, ``dim`` of them."""


class EmbeddingRowsMixin(ArchiveBase):
    def add_embedding(self, campaign_id: int, program_id: int, model: str, dim: int, vector: bytes) -> None:
        row = dict(program_id=program_id, campaign_id=campaign_id, model=model, dim=dim, vector=vector)
        self._write(lambda conn: conn.execute(insert(_T), row))

    def add_embeddings(self, campaign_id: int, model: str, vectors: Iterable[tuple[int, int, bytes]]) -> int:
        """Store many (program id, dim, float32 bytes) embeddings in one transaction."""
        rows = [
            dict(program_id=pid, campaign_id=campaign_id, model=model, dim=dim, vector=vec) for pid, dim, vec in vectors
        ]
        if rows:
            self._write(lambda conn: conn.execute(insert(_T), rows))
        return len(rows)

    def embeddings_after(self, campaign_id: int, model: str, after_program_id: int = 0) -> list[StoredEmbedding]:
        """Embeddings by ``model`` of programs with a larger id, in id order (top-ups)."""
        with self._read() as conn:
            rows = conn.execute(_NEWER, {"cid": campaign_id, "model": model, "after": after_program_id})
            return [StoredEmbedding(int(r.program_id), int(r.dim), bytes(r.vector)) for r in rows]
