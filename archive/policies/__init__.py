"""Quality-diversity policies on top of the archive: MAP-Elites grids, novelty,
FunSearch signature clusters, and optional embedding-based near-duplicate rejection.

The ``novelty`` and ``funsearch`` strategies of ``Archive.sample_parents`` use the
modules here; ``MapElites`` and ``EmbeddingDeduper`` are used directly by the loop.
"""

from evolve.archive.policies.clusters import case_signature, temperature
from evolve.archive.policies.descriptors import ast_shape_hash, ast_signature, builtin_descriptors, code_length
from evolve.archive.policies.map_elites import Dimension, Grid, MapElites
from evolve.archive.policies.novelty import Novelty, knn_novelty, novelty_of

__all__ = [
    "Dimension",
    "Grid",
    "MapElites",
    "Novelty",
    "ast_shape_hash",
    "ast_signature",
    "builtin_descriptors",
    "case_signature",
    "code_length",
    "knn_novelty",
    "novelty_of",
    "temperature",
]
